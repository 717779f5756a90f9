"""The relevance classifier: robustness, determinism, cache, reasons, evaluation, quality."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench.classifier_cv import corpus_dir, cross_validate, load_dev, seeds_only
from monitor.classify import (
    Classifier,
    Example,
    NoPositiveExamplesError,
    from_examples,
    input_hash,
    load_classifier,
    read_seeds,
    train,
)
from monitor.classify.evaluate import evaluate
from monitor.classify.examples import seed_title
from monitor.classify.sides import Gazetteer, load_gazetteer
from monitor.classify.text import clean, strip_dateline
from monitor.classify.variants import as_judgement, time_split

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seed_articles"
BAR = 0.90

RELEVANT_TITLE = "Pakistan, Russia agree to expand bilateral trade and energy cooperation"
RELEVANT_TEXT = (
    "ISLAMABAD: Pakistan and Russia on Monday agreed to expand bilateral trade, energy and "
    "defence cooperation during talks between the two foreign ministers in Moscow.\n\n"
    "The Russian foreign minister said Moscow valued its ties with Islamabad and invited the "
    "Pakistani delegation to a joint commission meeting.\n\n"
    "Both countries signed a memorandum on wheat supply, and the Pakistani side proposed a barter "
    "arrangement with Russian companies.\n\n"
    "The talks also covered the Pakistan Stream gas pipeline, which Russia and Pakistan hope to "
    "start next year."
)
ROSTER_TEXT = (
    "Leaders of China, Russia, India, Iran, Pakistan, Kazakhstan and Uzbekistan attended the "
    "summit.\n\n"
    "The Indian prime minister spoke about connectivity and the Chinese president about trade."
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("classifier-cache")


@pytest.fixture(scope="module")
def classifier(cache: Path) -> Classifier:
    return load_classifier(seeds_dir=SEEDS, threshold=0.5, cache_dir=cache)


ODD_INPUTS = [
    ("empty", "", ""),
    ("spaces", "   ", "\n\n \t"),
    ("five megabytes", "Pakistan Russia", "Pakistan and Russia held talks. " * 170_000),
    ("urdu", "پاکستان اور روس", "پاکستان اور روس کے درمیان تجارت پر بات چیت ہوئی۔"),
    ("russian", "Россия и Пакистан", "Россия и Пакистан провели переговоры в Москве."),
    ("chinese", "", "巴基斯坦和俄罗斯举行会谈。" * 100),
    ("html", "<b>Pakistan</b>", "<html><script>var x='<p>';</script><p>Russia &amp; Pakistan</p>"),
    ("broken html", "", "<p <div Pakistan < Russia > >>> &#xZZ; &bogus; <"),
    ("nul and controls", "\x00", "Pakistan\x00Russia\x07\r\n\x0b"),
    ("growing lower-case", "İİİ Pakistan", "İstanbul, ẞ and ǅ beside Russia and Pakistan."),
    ("one long line", "", "Pakistan Russia ties. " * 5_000),
]


@pytest.mark.parametrize(("name", "title", "text"), ODD_INPUTS, ids=[c[0] for c in ODD_INPUTS])
def test_any_text_gets_a_score(classifier: Classifier, name: str, title: str, text: str) -> None:
    score = classifier.score(title=title, text=text)
    assert 0.0 <= score.value <= 1.0 and not math.isnan(score.value), name
    assert score.relevant == (score.value >= classifier.threshold)
    assert all(isinstance(r, str) and r for r in score.reasons)


VERDICTS = [
    ("bilateral talks", RELEVANT_TITLE, RELEVANT_TEXT, True),
    ("summit roster", "SCO summit opens", ROSTER_TEXT, False),
    ("ordinary news", "Rain expected in the city", "Heavy rain is expected on Monday.", False),
    (
        "one side only",
        "Pakistan budget",
        "Pakistan presented its budget.\n\nIslamabad said.",
        False,
    ),
]


@pytest.mark.parametrize(
    ("name", "title", "text", "relevant"), VERDICTS, ids=[v[0] for v in VERDICTS]
)
def test_clear_cases(
    classifier: Classifier, name: str, title: str, text: str, relevant: bool
) -> None:
    assert classifier.score(title=title, text=text).relevant is relevant, name


def test_reasons_name_what_drove_the_score(classifier: Classifier) -> None:
    reasons = classifier.score(title=RELEVANT_TITLE, text=RELEVANT_TEXT).reasons
    joined = "\n".join(reasons)
    for expected in (
        "Pakistan and Russia named together in 4 of 4 paragraphs (title: both)",
        "nearest example: seed:",
        "strongest terms:",
        "drivers:",
        "relation words where both are named:",
    ):
        assert expected in joined


def test_scores_are_deterministic_across_builds(classifier: Classifier) -> None:
    fresh = load_classifier(seeds_dir=SEEDS, threshold=0.5)
    for title, text in [(RELEVANT_TITLE, RELEVANT_TEXT), ("", ROSTER_TEXT)]:
        assert fresh.score(title=title, text=text) == classifier.score(title=title, text=text)


def test_cache_hit_gives_the_same_scores(classifier: Classifier, cache: Path) -> None:
    key = input_hash(seeds_dir=SEEDS, judgements=())
    assert len([p for p in cache.iterdir() if key[:24] in p.name]) == 1
    again = load_classifier(seeds_dir=SEEDS, threshold=0.7, cache_dir=cache)
    assert again.threshold == 0.7
    value = classifier.score(title=RELEVANT_TITLE, text=RELEVANT_TEXT).value
    assert again.score(title=RELEVANT_TITLE, text=RELEVANT_TEXT).value == value


JUDGEMENT = Example(
    title="Pakistan, Russia talks", text=RELEVANT_TEXT, label=True, source="judgement:1"
)
HASH_CHANGES = [
    ("a judgement added", (JUDGEMENT,)),
    ("its label flipped", (Example(JUDGEMENT.title, JUDGEMENT.text, False, JUDGEMENT.source),)),
    ("its text edited", (Example(JUDGEMENT.title, JUDGEMENT.text + ".", True, JUDGEMENT.source),)),
]


@pytest.mark.parametrize(("name", "judgements"), HASH_CHANGES, ids=[c[0] for c in HASH_CHANGES])
def test_input_hash_follows_the_judgements(name: str, judgements: tuple[Example, ...]) -> None:
    before = {
        input_hash(seeds_dir=SEEDS, judgements=()),
        input_hash(seeds_dir=SEEDS, judgements=(JUDGEMENT,)),
    }
    assert input_hash(seeds_dir=SEEDS, judgements=judgements) == input_hash(
        seeds_dir=SEEDS, judgements=judgements
    )
    if name != "a judgement added":
        assert input_hash(seeds_dir=SEEDS, judgements=judgements) not in before


def test_input_hash_follows_the_seed_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(RELEVANT_TITLE + "\n\n" + RELEVANT_TEXT, encoding="utf-8")
    first = input_hash(seeds_dir=tmp_path, judgements=())
    (tmp_path / "b.txt").write_text("Pakistan and Russia sign a wheat deal.", encoding="utf-8")
    assert input_hash(seeds_dir=tmp_path, judgements=()) != first


def test_train_reports_what_it_learned(tmp_path: Path) -> None:
    negative = Example(title="Weather", text="Rain in Lahore.", label=False, source="judgement:2")
    model, report = train(
        seeds_dir=SEEDS, judgements=(JUDGEMENT, negative), threshold=0.5, cache_dir=tmp_path
    )
    text = report.render()
    assert report.seeds == 5 and report.positive_judgements == 1 and report.negative_judgements == 1
    assert report.cache_path is not None and report.cache_path.is_file()
    for expected in ("positives: 5 seed articles, 1 judgements", "feature weights", "input hash"):
        assert expected in text
    assert model.score(title=RELEVANT_TITLE, text=RELEVANT_TEXT).relevant


NO_POSITIVE = [  # (seed folder, judgements, words of the error)
    ("missing", (), "missing does not exist"),
    ("empty", (), "empty holds no seed article"),
    ("empty", (Example(title="Rain", text="Rain in Lahore.", label=False, source="j:1"),), "empty"),
]


@pytest.mark.parametrize(("folder", "judgements", "words"), NO_POSITIVE)
@pytest.mark.parametrize("build", [load_classifier, train])
def test_no_positive_example_is_an_error_naming_the_folder(
    tmp_path: Path, build: Any, folder: str, judgements: tuple[Example, ...], words: str
) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoPositiveExamplesError, match=words):
        build(seeds_dir=tmp_path / folder, judgements=judgements, threshold=0.5)


def test_a_relevant_judgement_is_enough_without_seeds(tmp_path: Path) -> None:
    model = load_classifier(seeds_dir=tmp_path / "missing", judgements=(JUDGEMENT,), threshold=0.5)
    assert model.score(title=RELEVANT_TITLE, text=RELEVANT_TEXT).value > 0.01


MENTIONS = [
    ("Pak-Russia ties", {0, 1}),
    ("the Kremlin and Islamabad", {0, 1}),
    ("let us talk about the US", {"United States"}),
    ("tell us more", set()),
    ("PAKISTAN and RUSSIA", {0, 1}),
    ("New  Delhi and Beijing", {"India", "China"}),
    ("Pakistani-made, Russians", {0, 1}),
    ("Pakistanis in Karachi", {0}),
    # entities of a side: cities (GeoNames, with the capital letter), regions, institutions,
    # armed forces, state companies, office-holders
    ("Lahore and Novosibirsk", {0, 1}),
    ("lahore and novosibirsk", set()),
    ("Hyderabad", set()),  # a city of Pakistan and of India: says nothing
    ("ISPR said; Gazprom said", {0, 1}),
    ("PAF jets, Rosneft crude", {0, 1}),
    ("Balochistan and Tatarstan", {0, 1}),
    ("Asim Munir met Andrei Belousov", {0, 1}),
    ("Karachi port, Saint Petersburg", {0, 1}),
]


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


@pytest.mark.parametrize(("text", "expected"), MENTIONS, ids=[m[0] for m in MENTIONS])
def test_gazetteer_mentions(gazetteer: Gazetteer, text: str, expected: set[object]) -> None:
    names = {o.name: n + 2 for n, o in enumerate(gazetteer.others)}
    wanted = {names[e] if isinstance(e, str) else e for e in expected}
    assert {m.entity for m in gazetteer.mentions(text)} == wanted


TEXTS = [
    ("<p>One</p><p>Two &amp; three</p>", "One\nTwo & three"),
    ("<script>alert('Russia')</script>Body", "Body"),
    ("plain\x00text", "plain text"),
]


@pytest.mark.parametrize(("raw", "expected"), TEXTS, ids=[t[0][:20] for t in TEXTS])
def test_clean(raw: str, expected: str) -> None:
    assert "\n".join(line.strip() for line in clean(raw).splitlines() if line.strip()) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ISLAMABAD, Jul 8 (APP): Talks held", "Talks held"),
        ("US President said: no", "US President said: no"),
    ],
)
def test_strip_dateline(raw: str, expected: str) -> None:
    assert strip_dateline(raw) == expected


def test_seed_title_skips_site_chrome() -> None:
    raw = "Saturday\nHome\n\nPakistan and Russia sign deal today\n\nBody"
    assert seed_title(raw) == "Pakistan and Russia sign deal today"
    assert len(read_seeds(SEEDS)) == 5


def test_evaluate_counts_and_renders(classifier: Classifier) -> None:
    rows = [
        {"id": "a", "title": RELEVANT_TITLE, "text": RELEVANT_TEXT, "label": 1},
        {"id": "b", "title": "SCO summit", "text": ROSTER_TEXT, "label": 0},
        {"id": "c", "text": "Rain expected.", "label": True, "borderline": True},
    ]
    report = evaluate(classifier=classifier, rows=rows)
    assert (report.all.tp, report.all.fp, report.all.fn, report.all.tn) == (1, 0, 1, 1)
    assert report.clear.f1 == 1.0
    text = report.render()
    for expected in (
        "threshold: 0.50",
        "non-borderline",
        "confusion matrix",
        "missed, borderline: c",
    ):
        assert expected in text


@pytest.fixture(scope="module")
def dev_rows() -> list[dict[str, object]]:
    corpus = corpus_dir()
    if not (corpus / "news" / "dev.jsonl").is_file():
        pytest.skip(f"labelled corpus not found at {corpus} (set MONITOR_CORPUS)")
    return load_dev(corpus)


@pytest.mark.slow
def test_cross_validated_quality_meets_the_bar(dev_rows: list[dict[str, object]]) -> None:
    report = cross_validate(dev_rows, seeds=read_seeds(SEEDS))
    assert report.clear.precision >= BAR and report.clear.f1 >= BAR, report.render()


@pytest.mark.slow
def test_seeds_only_model_meets_the_bar_on_dev(dev_rows: list[dict[str, object]]) -> None:
    report = seeds_only(dev_rows, seeds=read_seeds(SEEDS))
    assert report.clear.precision >= BAR and report.clear.f1 >= BAR, report.render()


SPLITS = [50, 100, 155]  # judgements taught: the earliest N dev articles


@pytest.mark.slow
@pytest.mark.parametrize("taught", SPLITS)
def test_teaching_never_makes_it_worse_on_later_news(
    dev_rows: list[dict[str, object]], taught: int
) -> None:
    earlier, later = time_split(dev_rows, share=taught / len(dev_rows))
    seeds = read_seeds(SEEDS)
    alone = evaluate(classifier=from_examples(examples=seeds, threshold=0.5), rows=later)
    model = from_examples(examples=[*seeds, *map(as_judgement, earlier)], threshold=0.5)
    with_judgements = evaluate(classifier=model, rows=later)
    assert with_judgements.clear.f1 >= alone.clear.f1, model.teaching.render()


def test_train_report_says_how_much_the_judgements_weigh(tmp_path: Path) -> None:
    rows = [json.loads(x) for x in (REPO / "tests/data/short_items.jsonl").read_text().splitlines()]
    judgements = [as_judgement(r) for r in rows]
    _, report = train(seeds_dir=SEEDS, judgements=judgements, threshold=0.5)
    assert f"cross-validation on {len(rows)} judgements" in report.render()
    assert "0 = seeds alone: 0: " in report.render()
    assert "word n-grams: " in report.render() and "F1 by word weight: 0: " in report.render()


RETARGETED = """
[[sides]]
name = "India"
names = ["India"]
entities = ["ISRO"]
[sides.cities]
country = "IN"
min_population = 1000000

[[sides]]
name = "China"
names = ["China"]
people = ["Xi Jinping"]
[sides.cities]
country = "CN"
min_population = 1000000

[[others]]
name = "Pakistan"
adjective = "Pakistani"
capital = "Islamabad"
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mumbai and Shanghai", {0, 1}),
        ("ISRO and Xi Jinping", {0, 1}),
        ("Lahore and Moscow", set()),
        ("Islamabad", {2}),
    ],
)
def test_data_files_retarget_the_sides(tmp_path: Path, text: str, expected: set[int]) -> None:
    path = tmp_path / "countries.toml"
    path.write_text(RETARGETED, encoding="utf-8")
    assert {m.entity for m in load_gazetteer(path).mentions(text)} == expected
