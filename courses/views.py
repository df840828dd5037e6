from django.views.generic import TemplateView


class CourseListView(TemplateView):
    template_name = "base.html"
