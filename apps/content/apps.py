from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ContentConfig(AppConfig):
    name = "apps.content"
    label = "content"
    verbose_name = "Essays"

    def ready(self) -> None:
        from .signals import essay_changed

        essay = self.get_model("Essay")
        post_save.connect(essay_changed, sender=essay, dispatch_uid="content.essay_saved")
        post_delete.connect(essay_changed, sender=essay, dispatch_uid="content.essay_deleted")
