"""Sentences written from the figures, in the register of a QA lead's executive summary.

Each sentence says only what its figures show. Where a change between periods is within what
chance alone gives at those sample sizes, the sentence still gives its direction and then says
so plainly; no sentence claims a cause.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from orchestration.report.figures import GOOD, REQUIRES_IMPROVEMENT, GradeComparison, ReportFigures
from orchestration.report.formatting import FigureWriter, join_phrases, plural
from orchestration.report.stats import within_chance


@dataclass(frozen=True)
class Change:
    """A share that moved between two periods, and whether chance alone could explain it."""

    subject: Markup
    points: float
    within_chance: bool

    @property
    def direction(self) -> str:
        return "increase" if self.points > 0 else "reduction"


def period_phrase(figures: ReportFigures, writer: FigureWriter) -> Markup:
    """'2022-23 to the end of Q2 (April to September 2022)'."""
    start, end = figures.period_start, figures.period_end
    months = (
        Markup("{} to {}").format(f"{start:%B}", writer.month("period_end", end))
        if start.year == end.year
        else Markup("{} to {}").format(writer.month("period_start", start), writer.month("period_end", end))
    )
    year = writer.text("fiscal_year", figures.fiscal_year)
    if figures.fiscal_quarter == 4:
        return Markup("{} ({})").format(year, months)
    quarter = writer.text("fiscal_quarter", f"Q{figures.fiscal_quarter}")
    return Markup("{} to the end of {} ({})").format(year, quarter, months)


def _months_between(figures: ReportFigures, writer: FigureWriter) -> Markup:
    first, last = figures.first_completed, figures.last_completed
    if (first.year, first.month) == (last.year, last.month):
        return Markup("in {}").format(writer.month("first_completed", first))
    if first.year == last.year:
        return Markup("between {} and {}").format(f"{first:%B}", writer.month("last_completed", last))
    return Markup("between {} and {}").format(writer.month("first_completed", first), writer.month("last_completed", last))


def headline(figures: ReportFigures, writer: FigureWriter, overall_percent: dict[int, int]) -> list[Markup]:
    sentences = []
    audits = figures.audits
    opening = "So far in {}, our case file audit programme has completed" if figures.fiscal_quarter < 4 else "In {}, our case file audit programme completed"
    sentence = Markup(opening + " {} case file {} {}").format(
        period_phrase(figures, writer), writer.count("audits", audits), plural(audits, "audit"), _months_between(figures, writer)
    )
    if figures.activities == 3 * audits:
        sentence += Markup(
            ", using the peer review and moderation approach: each case file audit includes {} pieces of audit activity, "
            "{} individual pieces of auditing activity in all."
        ).format(writer.count("activities_per_audit", 3), writer.count("activities", figures.activities))
    else:
        sentence += Markup(": {} pieces of audit activity in all.").format(writer.count("activities", figures.activities))
    sentences.append(sentence)
    if figures.targeted_audits:
        sentences.append(
            Markup("We also undertook {} targeted {} on specific areas of practice, auditing {} children's experiences.").format(
                writer.count("targeted_audits", figures.targeted_audits),
                plural(figures.targeted_audits, "audit"),
                writer.count("targeted_children", figures.targeted_children),
            )
        )
    good_or_ri = figures.good_or_requires_improvement
    good = figures.overall_grade(GOOD)
    opening = "The majority of case work was" if good_or_ri.count * 2 > good_or_ri.base else "Case work"
    verb = "" if opening.endswith("was") else " was"
    sentences.append(
        Markup("{}{} graded Good or Requires Improvement: {} of {} audits, {}. {} {} judged Good: {}.").format(
            opening,
            verb,
            writer.count("good_or_ri.count", good_or_ri.count),
            writer.count("audits", good_or_ri.base),
            writer.share("good_or_ri", good_or_ri),
            writer.count(f"overall.{good.grade_code}.current.count", good.current.count),
            "was" if good.current.count == 1 else "were",
            writer.percent(f"overall.{good.grade_code}.current", overall_percent[good.grade_code], good.current),
        )
    )
    inadequate = figures.overall_grade("Inadequate")
    if inadequate.current.count:
        sentences.append(
            Markup("{} {} had an overall judgement of Inadequate.").format(
                writer.count(f"overall.{inadequate.grade_code}.current.count", inadequate.current.count),
                plural(inadequate.current.count, "case"),
            )
        )
    else:
        sentences.append(Markup("No case had an overall judgement of Inadequate."))
    outstanding = figures.overall_grade("Outstanding")
    if outstanding.current.count:
        sentences.append(
            Markup("{} {} judged Outstanding.").format(
                writer.count(f"overall.{outstanding.grade_code}.current.count", outstanding.current.count),
                "case was" if outstanding.current.count == 1 else "cases were",
            )
        )
    return sentences


def _chance_sentence(changes: list[Change], current_base: int, previous_base: int, writer: FigureWriter, key: str) -> Markup:
    sizes = Markup("{} {} against {}").format(
        writer.count(f"{key}.current.base", current_base), plural(current_base, "audit"), writer.count(f"{key}.previous.base", previous_base)
    )
    beyond = [c for c in changes if not c.within_chance]
    if not beyond:
        which = "this change is" if len(changes) == 1 else ("both changes are" if len(changes) == 2 else "every one of these changes is")
        return Markup(
            "With {}, {} within what chance alone could give at these sample sizes: the direction is worth watching, "
            "but it is not yet evidence of a real change."
        ).format(sizes, which)
    named = join_phrases([Markup("the {} in {}").format(c.direction, c.subject) for c in beyond])
    rest = "; the other changes are within what chance alone could give" if len(beyond) < len(changes) else ""
    verb = "is" if len(beyond) == 1 else "are"
    return Markup("With {}, {} {} larger than chance alone would give at these sample sizes{}.").format(sizes, named, verb, rest)


def _change(grade: GradeComparison, subject: Markup) -> Change | None:
    if grade.previous is None or grade.change_percentage_points is None or grade.current.count * grade.previous.base == grade.previous.count * grade.current.base:
        return None
    return Change(subject=subject, points=grade.change_percentage_points, within_chance=bool(within_chance(grade.current, grade.previous)))


def overall_comparison(figures: ReportFigures, writer: FigureWriter) -> list[Markup]:
    previous_year = writer.text("previous_fiscal_year", figures.previous_fiscal_year)
    if not figures.has_previous_year:
        return [Markup("There are no counted case file audits from {} to compare with.").format(previous_year)]
    changes = []
    phrases = []
    # The summary leads with Good and Requires Improvement, then the grades at either end.
    ordered = sorted(figures.overall, key=lambda g: (g.grade_label not in (GOOD, REQUIRES_IMPROVEMENT), g.grade_code))
    for grade in ordered:
        change = _change(grade, Markup(grade.grade_label))
        if change is None:
            continue
        changes.append(change)
        phrases.append(
            Markup("{} {} ({} percentage points)").format(
                "an increase in" if change.points > 0 else "a reduction in",
                grade.grade_label,
                writer.change(f"overall.{grade.grade_code}.change", change.points),
            )
        )
    base = next(g.previous.base for g in figures.overall if g.previous is not None)
    if not changes:
        return [Markup("The grades are in the same proportions as in {} as a whole.").format(previous_year)]
    return [
        Markup("When we compare the end of year grades of {} as a whole, we see {}.").format(previous_year, join_phrases(phrases)),
        _chance_sentence(changes, figures.audits, base, writer, "overall"),
    ]


def practice_area_comparison(figures: ReportFigures, writer: FigureWriter) -> list[Markup]:
    comparison = writer.text("comparison_quarter", figures.comparison_quarter_label)
    if not figures.has_comparison_quarter:
        return [Markup("There are no counted case file audits from {} to compare the practice-area grades with.").format(comparison)]
    increases, reductions, unchanged, changes = [], [], [], []
    for area in figures.practice_areas:
        name = Markup('<span class="practice-area" data-practice-area="{}">{}</span>').format(area.code, area.name)
        change = _change(area.grade(GOOD), name)
        if change is None:
            unchanged.append(name)
            continue
        changes.append(change)
        (increases if change.points > 0 else reductions).append(name)
    sentences = []
    lead = Markup("When we compare {} sub-grades with our cumulative sub-grades for the year to date, ").format(comparison)
    if increases:
        sentences.append(
            lead + Markup('<span data-narrative="good-increase">we see an increase in Good judgements in {}</span>').format(join_phrases(increases))
            + (
                Markup(', and <span data-narrative="good-reduction">a reduction in {}</span>.').format(join_phrases(reductions))
                if reductions
                else Markup(".")
            )
        )
    elif reductions:
        sentences.append(lead + Markup('<span data-narrative="good-reduction">we see a reduction in Good judgements in {}</span>.').format(join_phrases(reductions)))
    if unchanged:
        sentences.append(Markup("The share judged Good is unchanged in {}.").format(join_phrases(unchanged)))
    if changes:
        base = next(g.previous.base for area in figures.practice_areas for g in area.grades if g.previous is not None)
        sentences.append(_chance_sentence(changes, figures.audits, base, writer, "areas"))
    return sentences


def moderation(figures: ReportFigures, writer: FigureWriter) -> list[Markup]:
    moderated = figures.moderated
    if moderated.count == moderated.base:
        first = Markup("Every case file audit completed in the year to date was moderated: {} of {}, {}.").format(
            writer.count("moderated.count", moderated.count), writer.count("moderated.base", moderated.base), writer.share("moderated", moderated)
        )
    else:
        first = Markup("{} of the {} case file audits completed in the year to date were moderated, {}; the others have no moderation recorded yet.").format(
            writer.count("moderated.count", moderated.count), writer.count("moderated.base", moderated.base), writer.share("moderated", moderated)
        )
    sentences = [first]
    overall = figures.overall_moderation
    areas = figures.practice_area_moderation
    if overall.changed:
        sentences.append(
            Markup("Moderation changed the auditor's overall grade in {} of {} audits, {}: {} up to a better grade and {} down to a worse one.").format(
                writer.count("moderation.overall.changed", overall.changed),
                writer.count("moderation.overall.moderated", overall.moderated),
                writer.share("moderation.overall", overall.changed_share),
                writer.count("moderation.overall.up", overall.moderated_up),
                writer.count("moderation.overall.down", overall.moderated_down),
            )
        )
    else:
        sentences.append(Markup("Moderation agreed the auditor's overall grade in every audit."))
    if areas.changed:
        sentences.append(
            Markup("Across the practice areas it changed {} of {} grades, {}: {} up and {} down.").format(
                writer.count("moderation.practice_areas.changed", areas.changed),
                writer.count("moderation.practice_areas.moderated", areas.moderated),
                writer.share("moderation.practice_areas", areas.changed_share),
                writer.count("moderation.practice_areas.up", areas.moderated_up),
                writer.count("moderation.practice_areas.down", areas.moderated_down),
            )
        )
    else:
        sentences.append(Markup("It agreed every practice-area grade."))
    return sentences


def actions(figures: ReportFigures, writer: FigureWriter) -> list[Markup]:
    actions = figures.actions
    if actions.as_at == figures.period_end:
        when = Markup("By the end of the quarter ({})").format(writer.date("actions.as_at", actions.as_at))
    else:
        when = Markup("By {}").format(writer.date("actions.as_at", actions.as_at))
    sentences = []
    if actions.raised:
        sentences.append(
            Markup("Our audits raised {} {} in the year to date. {}, {} had been completed, {}, and {} {} still open, {} of them overdue.").format(
                writer.count("actions.raised", actions.raised),
                plural(actions.raised, "action"),
                when,
                writer.count("actions.completed", actions.completed),
                writer.share("actions.completion", actions.completion),
                writer.count("actions.open", actions.open),
                "was" if actions.open == 1 else "were",
                writer.count("actions.overdue", actions.overdue),
            )
        )
    else:
        sentences.append(Markup("Our audits raised no actions in the year to date."))
    if actions.earlier_open:
        sentences.append(
            Markup("A further {} {} raised before {} {} still open, {} of them overdue.").format(
                writer.count("actions.earlier_open", actions.earlier_open),
                plural(actions.earlier_open, "action"),
                writer.text("fiscal_year", figures.fiscal_year),
                "was" if actions.earlier_open == 1 else "were",
                writer.count("actions.earlier_overdue", actions.earlier_overdue),
            )
        )
    return sentences


def rounded_parts_example(figures: ReportFigures, overall_percent: dict[int, int]) -> tuple[int, int, int]:
    """The Good and Requires Improvement whole-number percentages, and their sum."""
    good = figures.overall_grade(GOOD).grade_code
    improvement = figures.overall_grade(REQUIRES_IMPROVEMENT).grade_code
    return overall_percent[good], overall_percent[improvement], overall_percent[good] + overall_percent[improvement]

