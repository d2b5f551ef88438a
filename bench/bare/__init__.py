"""A bare Django project: the ceiling every HTTP benchmark ratio is measured against."""
