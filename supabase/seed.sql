-- Demo data for local development, loaded after the migrations by `scheduling db reset`.
select 1;
