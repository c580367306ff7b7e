"""Session ids made from agent names holding "/", spaces or other characters that break URLs.

Taps before agent names were checked stored such names as given, and one such session made
every page that links to it fail. Their ids and agent names get the characters that
``sessions.models.agent_name_from`` allows (others become "-"), with a numeric suffix where the
cleaned id is taken.
"""

from django.db import migrations

ALLOWED_EXTRA = "-_."


def _clean(text: str, limit: int) -> str:
    name = "".join(c if c.isalnum() or c in ALLOWED_EXTRA else "-" for c in text)
    while "--" in name:
        name = name.replace("--", "-")
    return name.strip("-_.")[:limit].rstrip("-_.") or "process"


def clean_session_ids(apps, schema_editor):
    ProcessSession = apps.get_model("tapsessions", "ProcessSession")
    taken = set(ProcessSession.objects.values_list("session_id", flat=True))
    for session in ProcessSession.objects.only("pk", "session_id", "agent_name").iterator():
        bad_id = not all(c.isalnum() or c in ALLOWED_EXTRA for c in session.session_id)
        bad_agent = not all(c.isalnum() or c in ALLOWED_EXTRA for c in session.agent_name)
        if not (bad_id or bad_agent or len(session.agent_name) > 64):
            continue
        session.agent_name = _clean(session.agent_name, 64)
        if bad_id:
            base = _clean(session.session_id, 150)
            new_id, n = base, 1
            while new_id in taken:
                n += 1
                new_id = f"{base}-{n}"
            taken.add(new_id)
            session.session_id = new_id
        session.save(update_fields=["session_id", "agent_name"])


class Migration(migrations.Migration):
    dependencies = [("tapsessions", "0001_initial")]

    operations = [migrations.RunPython(clean_session_ids, migrations.RunPython.noop)]
