from django.urls import path

from . import views

# Fixed words come before <slug:slug>/; services never give a course one of them as its slug.
urlpatterns = [
    path("mine/", views.CourseListMovedView.as_view(), name="manage_course_list"),
    path("create/", views.CourseCreateView.as_view(), name="course_create"),
    path("<int:pk>/edit/", views.CourseUpdateView.as_view(), name="course_edit"),
    path("<int:pk>/delete/", views.CourseDeleteView.as_view(), name="course_delete"),
    path("<int:pk>/module/", views.CourseModuleUpdateView.as_view(), name="course_module_update"),
    path("<int:pk>/publish/", views.CoursePublishView.as_view(), name="course_publish"),
    path("<int:pk>/analytics/", views.CourseAnalyticsView.as_view(), name="course_analytics"),
    path("<int:pk>/unpublish/", views.CourseUnpublishView.as_view(), name="course_unpublish"),
    path("module/order/", views.ModuleOrderView.as_view(), name="module_order"),
    path("content/order/", views.ContentOrderView.as_view(), name="content_order"),
    path(
        "module/<int:module_id>/",
        views.ModuleContentListView.as_view(),
        name="module_content_list",
    ),
    # Quizzes have their own page (questions edited with the quiz); before the other kinds'.
    path(
        "module/<int:module_id>/content/quiz/create/",
        views.QuizCreateUpdateView.as_view(),
        name="module_quiz_create",
    ),
    path(
        "module/<int:module_id>/content/quiz/<int:id>/",
        views.QuizCreateUpdateView.as_view(),
        name="module_quiz_update",
    ),
    path(
        "module/<int:module_id>/content/<str:model_name>/create/",
        views.ContentCreateUpdateView.as_view(),
        name="module_content_create",
    ),
    path(
        "module/<int:module_id>/content/<str:model_name>/<int:id>/",
        views.ContentCreateUpdateView.as_view(),
        name="module_content_update",
    ),
    path(
        "content/<int:id>/delete/", views.ContentDeleteView.as_view(), name="module_content_delete"
    ),
    path("content/<int:id>/file/", views.ContentFileView.as_view(), name="content_file"),
    path("subject/<slug:subject>/", views.CourseListView.as_view(), name="course_list_subject"),
    path("<slug:slug>/", views.CourseDetailView.as_view(), name="course_detail"),
]
