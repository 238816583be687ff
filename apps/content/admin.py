from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from .forms import EssayAdminForm
from .models import Essay


@admin.register(Essay)
class EssayAdmin(admin.ModelAdmin):
    form = EssayAdminForm
    list_display = ["title", "status", "published_at", "author", "word_count", "preview_link"]
    list_filter = ["status", "published_at", "author"]
    search_fields = ["title", "slug", "body"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "published_at"
    readonly_fields = ["word_count", "created_at", "updated_at", "preview_link"]
    list_select_related = ["author"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "author", "body", "cover"]}),
        ("Publishing", {"fields": ["status", "published_at", "preview_link"]}),
        ("Record", {"fields": ["word_count", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    @admin.display(description="Preview")
    def preview_link(self, essay: Essay) -> str:
        if not essay.pk:
            return "Save the essay to preview it."
        return format_html('<a href="{}" target="_blank" rel="noopener">Preview</a>', essay.get_preview_url())

    def view_on_site(self, essay: Essay) -> str:
        # "View on site" must work for drafts too, so it opens the staff preview rather than the public page.
        return essay.get_preview_url()
