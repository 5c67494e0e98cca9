"""The audit extract contract, read from contract.yml: the one place that file is parsed."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import yaml

CONTRACT_PATH = Path(__file__).with_name("contract.yml")

_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"[a-z0-9]+")
_FILE_SUFFIX = re.compile(r"\.[A-Za-z]+$")


def match_key(text: object) -> str:
    """The form in which headers and category values are compared: case, spaces, `_` and
    punctuation ignored, so `PracticeArea` = `Practice Area` = `practice_area` and `R.I.` = `RI`.

    Lower case with every character other than a letter or digit dropped. dbt's `match_key`
    macro does the same in SQL; a test keeps the two in step.
    """
    return _NOT_ALPHANUMERIC.sub("", str(text).lower())


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _leading_word_keys(text: str) -> list[str]:
    """The match keys of the text's leading words, longest first: `Audit Actions 2022` gives
    `auditactions2022`, `auditactions`, `audit`. Names are compared word by word so that
    `auditsX` is not `audits` followed by something."""
    words = _words(text)
    return ["".join(words[:length]) for length in range(len(words), 0, -1)]


@dataclass(frozen=True)
class CategoryValue:
    code: str
    label: str
    aliases: tuple[str, ...]
    good_or_better: bool | None
    sort_order: int
    group: str | None = None
    """The value's code in a coarser category, which a degraded field stores instead (an
    ethnicity code's major ethnic group)."""
    from_age: int | None = None
    """The youngest age, in whole years, of an age band."""


@dataclass(frozen=True)
class Category:
    name: str
    description: str
    match_codes: bool
    values: tuple[CategoryValue, ...]

    @cached_property
    def accepted(self) -> dict[str, str]:
        """Every accepted spelling's match key, mapped to the canonical code (built once: it is
        consulted for every category cell of every row)."""
        accepted: dict[str, str] = {}
        for value in self.values:
            spellings = [value.label, *value.aliases]
            if self.match_codes:
                spellings.append(value.code)
            for spelling in spellings:
                accepted[match_key(spelling)] = value.code
        return accepted

    def normalise(self, raw: str) -> str | None:
        return self.accepted.get(match_key(raw))

    def describe_choices(self) -> str:
        labels = [value.label for value in self.values]
        return ", ".join(labels[:-1]) + " or " + labels[-1]


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    description: str
    required: bool = False
    category: str | None = None
    required_when: dict[str, tuple[str, ...]] = field(default_factory=dict)
    empty_unless: dict[str, tuple[str, ...]] = field(default_factory=dict)
    not_before: str | None = None
    not_in_future: bool = False
    pseudonymise: bool = False
    since: int = 1
    """The contract version that added the field: a file of an earlier version has no column for
    it, and `required` holds only in files that have the column."""
    degrade_into: str | None = None
    """Where the field is degraded at the door, the raw column of its coarser form."""
    degrade_category: str | None = None
    """The category the coarser form takes its codes from."""
    degrade_at: str | None = None
    """For a date degraded to an age band: the date field the age is taken at."""

    @property
    def stored_name(self) -> str:
        """The column name in raw: a pseudonymised field is stored as its pseudonym, a degraded
        field as its coarser form."""
        if self.degrade_into:
            return self.degrade_into
        return f"{self.name.removesuffix('_id')}_pseudonym" if self.pseudonymise else self.name

    @property
    def is_degraded(self) -> bool:
        """Stored only in a coarser form: the value as delivered is never stored anywhere."""
        return self.degrade_into is not None

    @property
    def stored_type(self) -> str:
        """What raw holds: a degraded field holds a code, whatever it was delivered as."""
        return "category" if self.is_degraded else self.type


@dataclass(frozen=True)
class Reference:
    field: str
    entity: str


@dataclass(frozen=True)
class Entity:
    name: str
    description: str
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    references: tuple[Reference, ...]
    optional: bool
    synonyms: tuple[str, ...] = ()

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def names(self) -> tuple[str, ...]:
        """What a file or sheet holding this entity may be called: its name and its synonyms."""
        return (self.name, *self.synonyms)


@dataclass(frozen=True)
class Version:
    version: int
    summary: str
    file_name_word: str | None = None


@dataclass(frozen=True)
class Delivery:
    """How files are ordered and what a drop may say about itself (the contract's `delivery`)."""

    full_extract_word: str
    earliest_date: dt.date
    latest_date: dt.date

    def is_full_extract(self, file_name: str) -> bool:
        words = re.split(r"[^a-z0-9]+", Path(file_name).stem.lower())
        return self.full_extract_word in words


_FILE_NAME_DATE = re.compile(r"(?<!\d)(\d{4})[-_]?(\d{2})[-_]?(\d{2})(?!\d)")


def extract_date_in_file_name(file_name: str) -> dt.date | None:
    """The first real date in a file name (2022-08-05, 2022_08_05 or 20220805), if any."""
    for match in _FILE_NAME_DATE.finditer(Path(file_name).stem):
        try:
            return dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class Contract:
    version: int
    title: str
    categories: dict[str, Category]
    entities: dict[str, Entity]
    never_load_headers: tuple[str, ...]
    delivery: Delivery
    versions: tuple[Version, ...] = ()
    council_field: str = "la_code"

    def file_version(self, entity: Entity, columns: set[str], file_name: str) -> int:
        """The contract version a file (or sheet) of `entity` with these fields' columns follows:
        the newest version one of whose new fields it has, or whose word its name holds, else 1."""
        words = set(re.split(r"[^a-z0-9]+", Path(file_name).stem.lower()))
        found = [f.since for f in entity.fields if f.name in columns]
        found += [v.version for v in self.versions if v.file_name_word and v.file_name_word.lower() in words]
        return max([1, *found])

    def carries_council_in_v1(self, entity: Entity) -> bool:
        """Whether a v1 file of the entity names its council (audits, practice developments)."""
        return any(f.name == self.council_field and f.since == 1 for f in entity.fields)

    @cached_property
    def fields_on_every_entity(self) -> frozenset[str]:
        """Fields every entity carries (`every_entity_fields`, such as the `deleted` marker)."""
        return frozenset.intersection(*(frozenset(e.field_names) for e in self.entities.values()))

    @cached_property
    def _entities_by_name_key(self) -> dict[str, Entity]:
        return {match_key(name): entity for entity in self.entities.values() for name in entity.names}

    def entity_for_name(self, name: str) -> Entity | None:
        """The entity a file or sheet is named after: its name or one of its synonyms, alone or
        followed by more words (`audits_2022-07-01.csv`, `Activities`, `Sub-grades July`).

        The most words win, so `audit_actions_x` is audit_actions, never audits; whole words
        only, so `auditsX.csv` and `audit_extract_2022-08-05.xlsx` are no entity.
        """
        for key in _leading_word_keys(_FILE_SUFFIX.sub("", name)):
            if key in self._entities_by_name_key:
                return self._entities_by_name_key[key]
        return None

    def is_never_loaded(self, header: str) -> bool:
        """Whether the header names a name or a note: one of never_load_headers appears in it as
        whole words, spaces ignored (`Child Name`, `ChildName`, `Case notes (free text)`)."""
        banned = {match_key(text) for text in self.never_load_headers}
        words = _words(header)
        return any(
            "".join(words[start:end]) in banned
            for start in range(len(words))
            for end in range(start + 1, len(words) + 1)
        )

    @property
    def load_order(self) -> list[Entity]:
        """Entities ordered so that every entity comes after those it references."""
        ordered: list[Entity] = []
        pending = list(self.entities.values())
        while pending:
            ready = [
                e
                for e in pending
                if all(ref.entity in {o.name for o in ordered} for ref in e.references)
            ]
            if not ready:
                raise ValueError("the contract's references form a cycle")
            ordered.extend(ready)
            pending = [e for e in pending if e not in ready]
        return ordered


def _as_tuple(value: object) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return (str(value),)


def _conditions(raw: dict | None) -> dict[str, tuple[str, ...]]:
    return {name: _as_tuple(values) for name, values in (raw or {}).items()}


def parse_contract(document: dict) -> Contract:
    categories = {
        name: Category(
            name=name,
            description=spec["description"],
            match_codes=spec["match_codes"],
            values=tuple(
                CategoryValue(
                    code=str(value["code"]),
                    label=value["label"],
                    aliases=tuple(value.get("aliases", [])),
                    good_or_better=value.get("good_or_better"),
                    sort_order=position,
                    group=value.get("group"),
                    from_age=value.get("from_age"),
                )
                for position, value in enumerate(spec["values"], start=1)
            ),
        )
        for name, spec in document["categories"].items()
    }
    every_entity_fields = document.get("every_entity_fields", [])
    entities = {}
    for name, spec in document["entities"].items():
        fields = tuple(
            Field(
                name=f["name"],
                type=f["type"],
                description=f["description"],
                required=f.get("required", False),
                category=f.get("category"),
                required_when=_conditions(f.get("required_when")),
                empty_unless=_conditions(f.get("empty_unless")),
                not_before=f.get("not_before"),
                not_in_future=f.get("not_in_future", False),
                pseudonymise=f.get("pseudonymise", False),
                since=f.get("since", 1),
                degrade_into=(f.get("degrade") or {}).get("into"),
                degrade_category=(f.get("degrade") or {}).get("category"),
                degrade_at=(f.get("degrade") or {}).get("at"),
            )
            for f in [*spec["fields"], *every_entity_fields]
        )
        entities[name] = Entity(
            name=name,
            description=spec["description"],
            key=tuple(spec["key"]),
            fields=fields,
            references=tuple(Reference(**r) for r in spec.get("references", [])),
            optional=spec.get("optional", False),
            synonyms=tuple(spec.get("synonyms", [])),
        )
    contract = Contract(
        version=document["version"],
        title=document["title"],
        categories=categories,
        entities=entities,
        never_load_headers=tuple(document["never_load_headers"]),
        delivery=Delivery(
            full_extract_word=str(document["delivery"]["full_extract_word"]).lower(),
            earliest_date=document["delivery"]["earliest_date"],
            latest_date=document["delivery"]["latest_date"],
        ),
        versions=tuple(
            Version(version=v["version"], summary=" ".join(v["summary"].split()), file_name_word=v.get("file_name_word"))
            for v in document.get("versions", [{"version": 1, "summary": "The first version."}])
        ),
        council_field=document.get("council_field", "la_code"),
    )
    _check_consistency(contract)
    return contract


def _check_distinct_under_matching(spellings: list[tuple[str, str]], what: str) -> None:
    """No two spellings of different things may be the same once case, spaces and punctuation
    are ignored: the one read would depend on the order of the contract. Each spelling is given
    with what it stands for."""
    seen: dict[str, tuple[str, str]] = {}
    for spelling, meaning in spellings:
        key = match_key(spelling)
        if not key:
            raise ValueError(f"{what}: {spelling!r} has no letters or digits to match on")
        if key in seen and seen[key][1] != meaning:
            other, other_meaning = seen[key]
            raise ValueError(
                f"{what}: {other!r} ({other_meaning}) and {spelling!r} ({meaning}) are the same "
                f"once case, spaces and punctuation are ignored"
            )
        seen.setdefault(key, (spelling, meaning))


def _check_consistency(contract: Contract) -> None:
    for category in contract.categories.values():
        _check_distinct_under_matching(
            [
                (spelling, value.code)
                for value in category.values
                for spelling in [value.label, *value.aliases, *([value.code] if category.match_codes else [])]
            ],
            f"category {category.name}",
        )
    _check_distinct_under_matching(
        [(name, entity.name) for entity in contract.entities.values() for name in entity.names],
        "entity names and synonyms",
    )
    for entity in contract.entities.values():
        _check_distinct_under_matching([(name, name) for name in entity.field_names], f"{entity.name} fields")
        names = set(entity.field_names)
        for f in entity.fields:
            if f.type == "category" and f.category not in contract.categories:
                raise ValueError(f"{entity.name}.{f.name}: unknown category {f.category!r}")
            for other in [*f.required_when, *f.empty_unless, *([f.not_before] if f.not_before else [])]:
                if other not in names:
                    raise ValueError(f"{entity.name}.{f.name}: refers to unknown field {other!r}")
        for key_field in entity.key:
            if key_field not in names:
                raise ValueError(f"{entity.name}: key field {key_field!r} is not a field")
        for ref in entity.references:
            if ref.entity not in contract.entities:
                raise ValueError(f"{entity.name}: references unknown entity {ref.entity!r}")
        if contract.council_field not in names:
            raise ValueError(f"{entity.name}: has no {contract.council_field} field, and every key is per council")
        known_versions = {v.version for v in contract.versions}
        for f in entity.fields:
            if f.since not in known_versions:
                raise ValueError(f"{entity.name}.{f.name}: since {f.since}, a version the contract does not list")
            if f.is_degraded:
                _check_degrade(f, entity, contract)
    if max(v.version for v in contract.versions) != contract.version:
        raise ValueError(f"version {contract.version} is not the newest of the versions listed")


def _check_degrade(f: Field, entity: Entity, contract: Contract) -> None:
    where = f"{entity.name}.{f.name}"
    target = contract.categories.get(f.degrade_category or "")
    if target is None:
        raise ValueError(f"{where}: degrades into unknown category {f.degrade_category!r}")
    if f.type == "date":
        at = next((other for other in entity.fields if other.name == f.degrade_at), None)
        if at is None or at.type != "date":
            raise ValueError(f"{where}: an age band is taken at a date field, not {f.degrade_at!r}")
        ages = [value.from_age for value in target.values]
        if None in ages or ages != sorted(ages) or ages[0] != 0:
            raise ValueError(f"{where}: every age band needs a from_age, youngest first from 0")
    elif f.type == "category":
        codes = {value.code for value in target.values}
        for value in contract.categories[f.category].values:
            if value.group not in codes:
                raise ValueError(f"{where}: {value.code} rolls up to {value.group!r}, not one of {f.degrade_category}")
    else:
        raise ValueError(f"{where}: only a date or a category can be degraded")


@cache
def load_contract(path: Path = CONTRACT_PATH) -> Contract:
    return parse_contract(yaml.safe_load(path.read_text(encoding="utf-8")))
