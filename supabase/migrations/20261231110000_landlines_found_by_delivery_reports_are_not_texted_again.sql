-- Landlines found by a text's delivery report are not texted again, as refused ones are not.
--
-- Twilio takes a text to a number it cannot tell is a landline and learns from the carrier that
-- it is one: the text comes back `undelivered` with error 30006, reported to `scheduling web` or
-- read back by the delivery check. The worker now calls stop_texting for the number then, as it
-- does when Twilio refuses a text (now also for 21635: a landline in a country where Twilio tries
-- no landline). Only the function's description changes here.

comment on function scheduling_private.stop_texting(text, text) is
'Turns SMS off, with the reason, for everyone whose number `phone` cannot take texts; tells them in the app. Called by the worker on Twilio''s refusals of a number (21211, 21610, 21612, 21614, 21635), on a text that came back from a landline (30006), and by an opt-out reply.';
