"""Admin for process sessions (with their state changes inline) and the state changes."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from .models import ProcessSession, ProcessStateChange


class StateChangeInline(admin.TabularInline):
    model = ProcessStateChange
    fields = ["timestamp", "state", "metadata"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["timestamp", "id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ProcessSession)
class ProcessSessionAdmin(admin.ModelAdmin):
    list_display = [
        "session_id",
        "agent_name",
        "status",
        "started_at",
        "ended_at",
        "exit_code",
        "total_lines_processed",
        "total_extraction_events",
        "dashboard_link",
    ]
    list_filter = ["status", "agent_name", ("started_at", admin.DateFieldListFilter)]
    search_fields = ["session_id", "agent_name", "command_line"]
    inlines = [StateChangeInline]
    show_full_result_count = False
    # What the tap recorded is a record of what happened: shown, never edited.
    readonly_fields = [
        "dashboard_link",
        *[f.name for f in ProcessSession._meta.concrete_fields if f.name != "id"],
    ]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="dashboard")
    def dashboard_link(self, session: ProcessSession) -> str:
        return format_html('<a href="{}">open session page</a>', session.get_absolute_url())


@admin.register(ProcessStateChange)
class ProcessStateChangeAdmin(admin.ModelAdmin):
    list_display = ["session", "state", "timestamp"]
    list_filter = ["state", ("timestamp", admin.DateFieldListFilter)]
    search_fields = ["session__session_id", "state"]
    list_select_related = ["session"]
    readonly_fields = ["session", "state", "metadata", "timestamp"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False
