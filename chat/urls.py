from django.urls import path

from . import views

urlpatterns = [
    path("room/<int:course_id>/", views.ChatRoomView.as_view(), name="chat_room"),
]
