from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from .words import count_words


class EssayQuerySet(models.QuerySet):
    def published(self) -> EssayQuerySet:
        """The one visibility rule: published, and its time has come (checked at query time, no job needed)."""
        return self.filter(status=Essay.Status.PUBLISHED, published_at__lte=timezone.now())


class Essay(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    body = models.TextField(blank=True, help_text="Markdown.")
    # Nullable on purpose: added by 0004 and filled by 0005 without locking a busy table (expand, backfill).
    word_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="Visible from this moment on when published; may lie in the future."
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="essays")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EssayQuerySet.as_manager()

    class Meta:
        db_table = "content_essay"
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["status", "published_at"], name="essay_visible_idx")]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        # Written on every save, so only rows older than 0004 ever need the backfill.
        self.word_count = count_words(self.body)
        if "update_fields" in kwargs and kwargs["update_fields"] is not None and "body" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "word_count"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("content:essay_detail", kwargs={"slug": self.slug})
