"""Client library of the audio-to-video skill: NemoVideo API calls, routing, and the command line."""

__version__ = "1.0.0"
