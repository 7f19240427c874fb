"""Hearing Assist: live captions and personalised amplification for hard-of-hearing people, offline."""

__version__ = "0.1.0"
