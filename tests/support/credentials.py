"""The built-in Twilio account the test suite plays (the simulator and the app agree on it)."""

TWILIO_SID = "AC" + "7e" * 16
TWILIO_TOKEN = "test-auth-token-" + "x" * 16
