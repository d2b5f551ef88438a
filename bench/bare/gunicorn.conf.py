"""gunicorn's settings file for the bare app: empty on purpose.

Naming it keeps gunicorn from reading the repository's gunicorn.conf.py, whose hooks warm
SupportHub's workers; every setting the two servers share is on their command line.
"""
