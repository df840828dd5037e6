from django.urls import path

from . import views

urlpatterns = [
    path("", views.ChatRoomListView.as_view(), name="chat_room_list"),
    path("room/<int:course_id>/", views.ChatRoomView.as_view(), name="chat_room"),
    path("attachments/<int:id>/", views.AttachmentView.as_view(), name="chat_attachment"),
    path(
        "attachments/<int:id>/thumbnail/",
        views.AttachmentView.as_view(thumbnail=True),
        name="chat_attachment_thumbnail",
    ),
]
