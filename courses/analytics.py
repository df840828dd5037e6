"""Reads for a course's analytics page: one selector per chart, all listed in ANALYTICS_CHARTS.

Each selector answers with a fixed number of aggregate queries, whatever the number of
students, modules, attempts or messages, and returns a Chart: its numbers as table rows, and how
to draw them; a selector with one chart per item (per quiz) returns a tuple of them, maybe
empty. A new chart (certificates) is one more selector added to ANALYTICS_CHARTS; the page shows
whatever the list holds, in its order.

The page reads them through `course_analytics`, from one cache entry per course and language
that lives ANALYTICS_CACHE_SECONDS: figures may lag by that much, and no change to a course or
its students deletes the entry (a busy room would otherwise rebuild it with every message).
"""

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Count, DateField, Max
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext, ngettext

from chat.models import Message
from quizzes.models import Attempt
from students.models import ContentCompletion, Enrollment

from . import charts
from .cache import cache_key, read_through
from .models import Content, Course, Module
from .selectors import quiz_content_list_for_courses

WEEKS = 12  # weeks shown by the weekly charts, the current one last


@dataclass(frozen=True)
class ChartRow:
    """One row of a chart's table: its label (`short_label` under an axis) and its values."""

    label: str
    values: tuple[int, ...]
    short_label: str = ""


@dataclass(frozen=True)
class Chart:
    """One chart of the page: a table (`columns` head `rows`) and the SVG drawn from it.

    `key` is ASCII, unique on the page (HTML ids); `empty` replaces chart and table when set.
    """

    key: str
    title: str
    description: str
    columns: tuple[str, ...]
    rows: tuple[ChartRow, ...]
    svg: SafeString = field(default=SafeString(""))
    empty: str = ""


@dataclass(frozen=True)
class Analytics:
    """Every chart of one course, as computed at `built`."""

    course_id: int
    built: datetime.datetime
    charts: tuple[Chart, ...]


# --- weeks ------------------------------------------------------------------------------------


def weeks_ending(today: datetime.date, count: int = WEEKS) -> list[datetime.date]:
    """The Mondays of the `count` ISO weeks up to and including `today`'s, oldest first."""
    monday = today - datetime.timedelta(days=today.weekday())
    return [monday - datetime.timedelta(weeks=back) for back in range(count - 1, -1, -1)]


def _week_start(monday: datetime.date) -> datetime.datetime:
    """The first instant of that Monday in the current time zone."""
    return timezone.make_aware(datetime.datetime.combine(monday, datetime.time.min))


def counts_per_week(queryset, date_field: str, weeks: Sequence[datetime.date]) -> list[int]:
    """How many rows of `queryset` fall in each of `weeks` (Mondays) by `date_field`, zeros
    included: one GROUP BY query, weeks cut in the current time zone as TruncWeek cuts them."""
    per_week = (
        queryset.filter(**{f"{date_field}__gte": _week_start(weeks[0])})
        .annotate(week=TruncWeek(date_field, output_field=DateField()))
        .values("week")
        .annotate(count=Count("pk"))
        .order_by("week")
    )
    counts = {row["week"]: row["count"] for row in per_week}
    return [counts.get(monday, 0) for monday in weeks]


def _weekly_chart(*, key, title, description, column, weeks, counts) -> Chart:
    rows = tuple(
        ChartRow(
            label=date_format(monday, "j M Y"),
            short_label=date_format(monday, "j M"),
            values=(count,),
        )
        for monday, count in zip(weeks, counts, strict=True)
    )
    total = sum(counts)
    name = gettext("%(title)s: %(total)d in the last %(weeks)d weeks, week by week below.") % {
        "title": title,
        "total": total,
        "weeks": len(weeks),
    }
    return Chart(
        key=key,
        title=title,
        description=description,
        columns=(gettext("Week of"), column),
        rows=rows,
        svg=charts.bar_chart(
            name=name, labels=[row.short_label for row in rows], values=list(counts)
        ),
    )


# --- the charts -------------------------------------------------------------------------------

# Per module of the course: its contents, the enrolled students who reached it (completed one
# of its contents, or opened it last: Enrollment.last_module is the only record of opening) and
# those who finished it (completed all its contents). A student who left takes theirs out.
# Written out because the per-student count has to be grouped twice, which the ORM cannot say.
_FUNNEL_SQL = f"""
SELECT m.id, m.title, COALESCE(n.contents, 0), COUNT(p.student_id),
       COALESCE(SUM(CASE WHEN n.contents > 0 AND p.done >= n.contents THEN 1 ELSE 0 END), 0)
FROM {Module._meta.db_table} m
LEFT JOIN (
    SELECT c.module_id, COUNT(*) AS contents
    FROM {Content._meta.db_table} c JOIN {Module._meta.db_table} cm ON cm.id = c.module_id
    WHERE cm.course_id = %s
    GROUP BY c.module_id
) n ON n.module_id = m.id
LEFT JOIN (
    SELECT module_id, student_id, SUM(done) AS done FROM (
        SELECT c.module_id, d.student_id, 1 AS done
        FROM {ContentCompletion._meta.db_table} d
        JOIN {Content._meta.db_table} c ON c.id = d.content_id
        JOIN {Module._meta.db_table} cm ON cm.id = c.module_id
        JOIN {Enrollment._meta.db_table} e
            ON e.student_id = d.student_id AND e.course_id = cm.course_id
        WHERE cm.course_id = %s
        UNION ALL
        SELECT e.last_module_id, e.student_id, 0
        FROM {Enrollment._meta.db_table} e
        WHERE e.course_id = %s AND e.last_module_id IS NOT NULL
    ) per_content
    GROUP BY module_id, student_id
) p ON p.module_id = m.id
WHERE m.course_id = %s
GROUP BY m.id, m.title, m."order", n.contents
ORDER BY m."order", m.id
"""  # noqa: S608 (table names from the models, values as parameters)


@dataclass(frozen=True)
class ModuleFunnelRow:
    module_id: int
    title: str
    content_count: int
    reached: int
    finished: int


def module_funnel_rows(*, course: Course) -> list[ModuleFunnelRow]:
    """Per module in order: enrolled students who completed at least one of its contents or
    opened it last (reached), and who completed all of them (finished; never for a module
    without contents). One query."""
    with connection.cursor() as cursor:
        cursor.execute(_FUNNEL_SQL, [course.pk] * 4)
        rows = cursor.fetchall()
    return [
        ModuleFunnelRow(
            module_id=module_id,
            title=title,
            content_count=contents,
            reached=reached,
            finished=finished,
        )
        for module_id, title, contents, reached, finished in rows
    ]


def chart_module_funnel(*, course: Course, today: datetime.date) -> Chart:
    """How far the enrolled students got, module by module (two queries)."""
    enrolled = Enrollment.objects.filter(course=course).count()
    modules = module_funnel_rows(course=course)
    title = gettext("Completion by module")
    reached_word, finished_word = gettext("Reached"), gettext("Finished")
    description = ngettext(
        "Of the %(count)d student enrolled: who reached each module (completed one of its "
        "contents, or is studying it now) and who finished it (completed them all).",
        "Of the %(count)d students enrolled: who reached each module (completed one of its "
        "contents, or is studying it now) and who finished it (completed them all).",
        enrolled,
    ) % {"count": enrolled}
    rows = tuple(
        ChartRow(label=f"{index}. {row.title}", values=(row.reached, row.finished))
        for index, row in enumerate(modules, start=1)
    )
    columns = (gettext("Module"), reached_word, finished_word)
    if not modules:
        return Chart(
            key="funnel", title=title, description=description, columns=columns, rows=(),
            empty=gettext("This course has no modules yet."),
        )  # fmt: skip
    summary = "; ".join(
        gettext("%(module)s: %(reached)d reached, %(finished)d finished")
        % {"module": row.label, "reached": row.values[0], "finished": row.values[1]}
        for row in rows
    )
    name = f"{title}. {description} {summary}."
    svg = charts.funnel_chart(
        name=name,
        total_label=gettext("Enrolled"),
        total=enrolled,
        stages=[charts.FunnelStage(row.label, *row.values) for row in rows],
        legend=(reached_word, finished_word),
    )
    return Chart(
        key="funnel", title=title, description=description, columns=columns, rows=rows, svg=svg
    )


def chart_enrollments_per_week(*, course: Course, today: datetime.date) -> Chart:
    """Enrollments of the students still enrolled, per week of the last WEEKS (one query)."""
    weeks = weeks_ending(today)
    counts = counts_per_week(Enrollment.objects.filter(course=course), "created", weeks)
    return _weekly_chart(
        key="enrollments",
        title=gettext("New students per week"),
        description=gettext(
            "Students enrolled each week of the last %(weeks)d weeks (those who left are not "
            "counted)."
        )
        % {"weeks": len(weeks)},
        column=gettext("New students"),
        weeks=weeks,
        counts=counts,
    )


def chart_chat_messages_per_week(*, course: Course, today: datetime.date) -> Chart:
    """Messages sent in the course's chat room per week of the last WEEKS (one query)."""
    weeks = weeks_ending(today)
    counts = counts_per_week(Message.objects.filter(room_id=course.pk), "created", weeks)
    return _weekly_chart(
        key="chat",
        title=gettext("Chat messages per week"),
        description=gettext(
            "Messages sent in the course's chat room each week of the last %(weeks)d weeks."
        )
        % {"weeks": len(weeks)},
        column=gettext("Messages"),
        weeks=weeks,
        counts=counts,
    )


# --- quizzes ----------------------------------------------------------------------------------

SCORE_BANDS = 10  # bands of 10 points: 0–9, 10–19, … 90–100
QUESTIONS_SHOWN = 10  # the questions most often answered wrong


def _attempts_of_enrolled(course: Course):
    """Graded attempts at the course's quizzes by students still enrolled in it."""
    return Attempt.objects.filter(
        content__module__course=course,
        status=Attempt.Status.GRADED,
        student__enrollments__course=course,
    )


def score_band(percent: float) -> int:
    """The band (0 to SCORE_BANDS - 1) of a percent: 100 falls in the last band, with 90."""
    return min(max(int(percent // 10), 0), SCORE_BANDS - 1)


def _band_labels() -> list[tuple[str, str]]:
    """(label, short label) of each band, lowest first."""
    labels = []
    for band in range(SCORE_BANDS):
        low, high = band * 10, 100 if band == SCORE_BANDS - 1 else band * 10 + 9
        label = gettext("%(low)d–%(high)d %%") % {"low": low, "high": high}
        labels.append((label, f"{low}–{high}"))
    return labels


def quiz_best_score_bands(*, course: Course) -> dict[int, list[int]]:
    """Per quiz content id, how many enrolled students' best graded score falls in each band
    (one query; each student counted once, at their best)."""
    best = (
        _attempts_of_enrolled(course)
        .values("content_id", "student_id")
        .annotate(best=Max("percent"))
        .order_by()
    )
    bands = {}
    for row in best:
        counts = bands.setdefault(row["content_id"], [0] * SCORE_BANDS)
        counts[score_band(row["best"])] += 1
    return bands


def chart_quiz_scores(*, course: Course, today: datetime.date) -> tuple[Chart, ...]:
    """Per quiz in course order, the distribution of the students' best scores (two queries)."""
    quizzes = list(quiz_content_list_for_courses(course_ids=[course.pk]))
    bands = quiz_best_score_bands(course=course)
    labels = _band_labels()
    column = gettext("Students")
    found = []
    for content in quizzes:
        counts = bands.get(content.pk, [0] * SCORE_BANDS)
        students = sum(counts)
        title = gettext("Best scores: %(quiz)s") % {"quiz": content.quiz_title}
        description = ngettext(
            "The best score of the %(count)d student who has finished this quiz, in bands of "
            "10 points.",
            "The best scores of the %(count)d students who have finished this quiz, each "
            "counted once at their best, in bands of 10 points.",
            students,
        ) % {"count": students}
        rows = tuple(
            ChartRow(label=label, short_label=short, values=(count,))
            for (label, short), count in zip(labels, counts, strict=True)
        )
        common = {
            "key": f"quiz-scores-{content.pk}",
            "title": title,
            "description": description,
            "columns": (gettext("Best score"), column),
        }
        if not students:
            empty = gettext("Nobody enrolled has finished this quiz yet.")
            found.append(Chart(**common, rows=(), empty=empty))
            continue
        summary = "; ".join(
            gettext("%(band)s: %(count)d") % {"band": row.label, "count": row.values[0]}
            for row in rows
            if row.values[0]
        )
        svg = charts.bar_chart(
            name=f"{title}. {description} {summary}.",
            labels=[row.short_label for row in rows],
            values=counts,
        )
        found.append(Chart(**common, rows=rows, svg=svg))
    return tuple(found)


@dataclass
class QuestionTally:
    """How one question (as attempts copied it) was answered: `text` from its latest copy."""

    question_id: int
    quiz: str
    text: str
    graded: int = 0
    wrong: int = 0

    @property
    def wrong_percent(self) -> int:
        return round(100 * self.wrong / self.graded) if self.graded else 0


def question_tallies_most_wrong(*, course: Course, limit: int = QUESTIONS_SHOWN):
    """The questions of the course's quizzes most often answered wrong, by share of their
    graded answers that were not fully right, then by number wrong (two queries).

    Read from the graded attempts' own copies of their questions and results, so that a
    question edited or deleted since keeps its history.
    """
    titles = {
        content.pk: content.quiz_title
        for content in quiz_content_list_for_courses(course_ids=[course.pk])
    }
    attempts = (
        _attempts_of_enrolled(course)
        .order_by("submitted", "pk")
        .values_list("content_id", "questions", "results")
    )
    tallies: dict[int, QuestionTally] = {}
    for content_id, questions, results in attempts.iterator(chunk_size=500):
        texts = {question["id"]: question["text"] for question in questions}
        for result in results:
            question_id = result["id"]
            tally = tallies.get(question_id)
            if tally is None:
                tally = tallies[question_id] = QuestionTally(
                    question_id, titles.get(content_id, ""), ""
                )
            tally.text = texts.get(question_id, tally.text)
            tally.graded += 1
            tally.wrong += not result["correct"]
    ranked = sorted(
        (tally for tally in tallies.values() if tally.wrong),
        key=lambda tally: (-tally.wrong / tally.graded, -tally.wrong, tally.question_id),
    )
    return ranked[:limit], bool(titles)


def chart_quiz_questions_wrong(*, course: Course, today: datetime.date) -> tuple[Chart, ...]:
    """The questions most often answered wrong across the course's quizzes; nothing for a
    course without quizzes (two queries)."""
    tallies, has_quizzes = question_tallies_most_wrong(course=course)
    if not has_quizzes:
        return ()
    title = gettext("Questions most often answered wrong")
    description = gettext(
        "At most %(count)d questions across the course's quizzes, by the share of their graded "
        "answers that were not fully right."
    ) % {"count": QUESTIONS_SHOWN}
    columns = (
        gettext("Question"),
        gettext("Wrong answers"),
        gettext("Graded answers"),
        gettext("Wrong (%)"),
    )
    common = {"key": "quiz-questions", "title": title, "description": description}
    if not tallies:
        empty = gettext("No graded answer is wrong yet.")
        return (Chart(**common, columns=columns, rows=(), empty=empty),)
    rows = tuple(
        ChartRow(
            label=f"{tally.quiz}: {tally.text}",
            values=(tally.wrong, tally.graded, tally.wrong_percent),
        )
        for tally in tallies
    )
    shares = [
        charts.ShareRow(
            label=tally.text,
            percent=tally.wrong_percent,
            figures=gettext("%(wrong)d of %(graded)d wrong")
            % {"wrong": tally.wrong, "graded": tally.graded},
        )
        for tally in tallies
    ]
    summary = "; ".join(
        gettext("%(question)s: %(wrong)d of %(graded)d wrong")
        % {"question": row.label, "wrong": row.values[0], "graded": row.values[1]}
        for row in rows
    )
    svg = charts.share_chart(name=f"{title}. {description} {summary}.", rows=shares)
    return (Chart(**common, columns=columns, rows=rows, svg=svg),)


# The page's charts, in the order it shows them: each takes the course and today's date and
# returns a Chart or a tuple of them.
ANALYTICS_CHARTS: tuple[Callable[..., Chart | tuple[Chart, ...]], ...] = (
    chart_module_funnel,
    chart_enrollments_per_week,
    chart_chat_messages_per_week,
    chart_quiz_scores,
    chart_quiz_questions_wrong,
)


def _charts_of(course: Course, today: datetime.date) -> tuple[Chart, ...]:
    found = []
    for selector in ANALYTICS_CHARTS:
        result = selector(course=course, today=today)
        found.extend(result if isinstance(result, tuple) else (result,))
    return tuple(found)


def course_analytics(*, course: Course) -> Analytics:
    """Every chart of ANALYTICS_CHARTS for the course, cached ANALYTICS_CACHE_SECONDS per
    course and language.

    Precondition: the caller may see the course's analytics (course_get_for_analytics).
    """

    def build() -> Analytics:
        today = timezone.localdate()
        return Analytics(
            course_id=course.pk,
            built=timezone.now(),
            charts=_charts_of(course, today),
        )

    key = cache_key("analytics", course.pk, get_language() or settings.LANGUAGE_CODE)
    return read_through(key, build, timeout=settings.ANALYTICS_CACHE_SECONDS)
