from django.urls import path

from . import views

urlpatterns = [
    path("", views.ChatRoomListView.as_view(), name="chat_room_list"),
    path("room/<int:course_id>/", views.ChatRoomView.as_view(), name="chat_room"),
]
