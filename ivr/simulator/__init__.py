"""Playing Twilio's part against the app: the engine of ``ivr call`` and of the end-to-end tests."""
