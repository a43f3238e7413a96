from django.db import migrations


def seed(apps, schema_editor):
    from tongzhou.safety.claims import SEEDS

    Group = apps.get_model("groups", "Group")
    Claim = apps.get_model("safety", "Claim")
    for group in Group.objects.all():
        if not Claim.objects.filter(group=group).exists():
            Claim.objects.bulk_create(
                [
                    Claim(
                        group=group,
                        seed=s["seed"],
                        title=s["title"],
                        correction=s["correction"],
                        patterns=s["patterns"],
                    )
                    for s in SEEDS
                ]
            )


class Migration(migrations.Migration):
    dependencies = [
        ("safety", "0001_initial"),
        ("groups", "0007_application_flags_group_new_member_days_and_more"),
    ]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
