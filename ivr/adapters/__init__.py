"""Adapters to the world outside: Twilio's REST API and message delivery.

Each is real, with a local fake chosen by a setting.
"""
