"""Re-encrypt every encrypted column and media file with the first key in TONGZHOU_DATA_KEYS.

Rotation: put a new key in front (TONGZHOU_DATA_KEYS=new,old), restart, run this command,
then remove the old key. `--generate` prints a fresh key.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from tongzhou import storage
from tongzhou.chat.models import Attachment
from tongzhou.crypto import encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt all health data and media with the first key in TONGZHOU_DATA_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--generate", action="store_true", help="print a new key and stop")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["generate"]:
            self.stdout.write(Fernet.generate_key().decode())
            return
        total = 0
        for model, names in encrypted_fields():
            count = 0
            with transaction.atomic():
                # Reading decrypts with any key; saving encrypts with the first.
                for row in model._default_manager.select_for_update().only("pk", *names).iterator():
                    row.save(update_fields=names)
                    count += 1
            self.stdout.write(f"{model._meta.label}: {count} rows re-encrypted")
            total += count
        files = 0
        for attachment in Attachment.objects.only("file", "thumb").iterator():
            for name in attachment.files():  # each file is replaced whole: a rerun is safe
                storage.rotate(name)
                files += 1
        self.stdout.write(f"media: {files} files re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"done: {total} rows, {files} files"))
