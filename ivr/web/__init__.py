"""The web layer: Flask app factory, blueprints per webhook area, Twilio signature checks."""
