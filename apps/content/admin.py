from __future__ import annotations

from django.contrib import admin

from .models import Essay


@admin.register(Essay)
class EssayAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "published_at", "author", "word_count"]
    list_filter = ["status", "published_at", "author"]
    search_fields = ["title", "body"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "published_at"
    readonly_fields = ["word_count", "created_at", "updated_at"]
