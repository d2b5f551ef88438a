from django.apps import AppConfig


class SupportHubConfig(AppConfig):
    name = "supporthub"
    verbose_name = "SupportHub"
