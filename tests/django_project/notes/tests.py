"""Run by Django's runner (unittest) and by pytest-django: a model saved and read back."""

import os

from django.db import connection
from django.test import TestCase


class NoteTests(TestCase):
    def test_save_and_read(self) -> None:
        from notes.models import Note

        Note.objects.create(body="hello")
        self.assertEqual([n.body for n in Note.objects.all()], ["hello"])
        # The test database Django made, on the server testctr started.
        print(
            f"\nDB {connection.settings_dict['NAME']} {connection.settings_dict['HOST']}:"
            f"{connection.settings_dict['PORT']} pid {os.getpid()}"
        )


class OtherNoteTests(TestCase):
    def test_starts_empty(self) -> None:
        from notes.models import Note

        self.assertEqual(Note.objects.count(), 0)
        print(
            f"\nDB {connection.settings_dict['NAME']} {connection.settings_dict['HOST']}:"
            f"{connection.settings_dict['PORT']} pid {os.getpid()}"
        )
