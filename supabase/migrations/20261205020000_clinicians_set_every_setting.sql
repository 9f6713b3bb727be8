-- A clinician sets every one of their own settings.
--
-- The clinician's UPDATE on `clinicians` is granted column by column (so nobody rewrites their
-- key or timestamps). Two settings added after that grant were never given to them:
-- `waitlist_offer_minutes` (how long a freed time stays offered to a waitlisted patient) and
-- `video_provider` (where their video visits happen). An update of either through the API was
-- refused with "permission denied for table clinicians", though both are theirs to choose.
grant update (waitlist_offer_minutes, video_provider) on table public.clinicians to authenticated;
