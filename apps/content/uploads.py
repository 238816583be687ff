"""Django's two upload handlers, each keeping the length of the name the browser sent. Django cuts an uploaded
file's name to 255 characters when it makes the file object, so without this the cover form could only quote the
cut length (forms.py refuses an absurd name with the real one)."""

from __future__ import annotations

from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler


class KeepsSentNameLength:
    sent_name_length = 0

    def new_file(self, field_name, file_name, *args, **kwargs):
        self.sent_name_length = len(file_name)
        return super().new_file(field_name, file_name, *args, **kwargs)

    def file_complete(self, file_size):
        uploaded = super().file_complete(file_size)
        if uploaded is not None:
            uploaded.sent_name_length = self.sent_name_length
        return uploaded


class MemoryUploads(KeepsSentNameLength, MemoryFileUploadHandler):
    pass


class TemporaryFileUploads(KeepsSentNameLength, TemporaryFileUploadHandler):
    pass
