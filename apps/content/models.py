from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from . import rendering
from .words import count_words

# What save() derives from the body, so a save limited to update_fields=["body"] writes them too.
BODY_DERIVED_FIELDS = ("word_count", *rendering.Rendered._fields)


class EssayQuerySet(models.QuerySet):
    def published(self) -> EssayQuerySet:
        """The one visibility rule: published, and its time has come (checked at query time, no job needed)."""
        return self.filter(status=Essay.Status.PUBLISHED, published_at__lte=timezone.now())

    def next_scheduled_at(self) -> datetime | None:
        """When the next published-but-future essay becomes visible: the moment cached pages go stale."""
        upcoming = self.filter(status=Essay.Status.PUBLISHED, published_at__gt=timezone.now())
        return upcoming.order_by("published_at").values_list("published_at", flat=True).first()

    def before(self, essay: Essay) -> EssayQuerySet:
        """Essays that come before `essay` in reading order (older), nearest first."""
        older = models.Q(published_at__lt=essay.published_at) | models.Q(
            published_at=essay.published_at, id__lt=essay.id
        )
        return self.filter(older).order_by("-published_at", "-id")

    def after(self, essay: Essay) -> EssayQuerySet:
        """Essays that come after `essay` (newer), nearest first."""
        newer = models.Q(published_at__gt=essay.published_at) | models.Q(
            published_at=essay.published_at, id__gt=essay.id
        )
        return self.filter(newer).order_by("published_at", "id")


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
    # Nullable so 0006 is a metadata-only ALTER that old code keeps working with; stored via STORAGES["default"].
    cover = models.ImageField(upload_to="covers/%Y/%m/", null=True, blank=True)
    # The body rendered at save time, so a page never loads Markdown: served only while made from this very body by
    # this renderer (apps/content/rendering.py). NULL, not "", for never rendered: 0008 adds them without a default
    # (a catalogue-only change everywhere; on SQLite a NOT NULL column rebuilds the table and loses 0007's triggers)
    # and 0009 fills them, while the release still serving keeps inserting rows that leave them out.
    rendered_html = models.TextField(null=True, blank=True, editable=False)  # noqa: DJ001 - see above
    rendered_excerpt = models.TextField(null=True, blank=True, editable=False)  # noqa: DJ001 - see above
    rendered_from = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001
    rendered_with = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001
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
        # Derived from the body on every save, so only rows written before 0004 (the count) and 0008 (the rendering)
        # ever need a backfill.
        self.word_count = count_words(self.body)
        for field, value in rendering.render_essay(self.body)._asdict().items():
            setattr(self, field, value)
        if "update_fields" in kwargs and kwargs["update_fields"] is not None and "body" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], *BODY_DERIVED_FIELDS}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("content:essay_detail", kwargs={"slug": self.slug})

    def get_preview_url(self) -> str:
        return reverse("content:essay_preview", kwargs={"slug": self.slug})

    @property
    def html(self) -> str:
        if self._stored_rendering_is_current():
            return mark_safe(self.rendered_html)  # noqa: S308 - stored by save() from render_markdown's output
        return rendering.render_markdown(self.body)

    @property
    def excerpt(self) -> str:
        if self._stored_rendering_is_current():
            return self.rendered_excerpt
        return rendering.excerpt(self.body)

    def _stored_rendering_is_current(self) -> bool:
        return rendering.is_current(self.body, self.rendered_from, self.rendered_with)

    @property
    def reading_minutes(self) -> int:
        return rendering.reading_minutes(self.word_count)


class PageGeneration(models.Model):
    """One row whose value the database itself changes on every write to what cached pages show (essays, author
    names): migration 0007's triggers, which QuerySet.update, raw SQL and other processes cannot bypass.
    apps/content/pagecache/generation.py reads it; a page stored under another value is never served."""

    value = models.BigIntegerField()

    class Meta:
        db_table = "content_pagegeneration"

    def __str__(self) -> str:
        return str(self.value)
