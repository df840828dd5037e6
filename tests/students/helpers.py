from courses.models import Video
from tests.factories import ContentFactory


def video_content(module, **kwargs):
    """A Content showing a YouTube video in the module."""
    video = Video.objects.create(
        owner=module.course.owner, title="A video", url="https://youtu.be/dQw4w9WgXcQ"
    )
    return ContentFactory(module=module, item=video, **kwargs)
