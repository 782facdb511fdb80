"""The built-in match scorers (hook ``medmci_match_scorers``); their weights and options are the settings
``plugins.match_scorers``.

- ``codes``: my offers against your needs and my needs against your offers, as pivot codes; a code's parents count
  partially (``parent_weight`` per level, up to ``coarsest_level``), so a need at 10.3 meets an offer of 10.32.
  A member that lists no offers offers its activities.
- ``value_chain``: a member on stage k of a chain and a partner on stage k+1 (either way round): one supplies the
  other. Support stages (R&D, training) serve every stage and are adjacent to none.
- ``text``: what I offer against what you need (and back) as text, in any of English, French and Arabic: character
  n-grams of the folded text (case, accents and Arabic diacritics and letter variants removed), hashed, weighted by
  their rarity in the pivot taxonomy's labels. A member's codes add their labels (in every language the taxonomy
  has) to its text, which carries an Arabic offer to a French need.
- ``countries``: the partner's country is one of my export markets, mine one of its, or we export to the same.
- ``languages``: languages in common.

Each score depends on the two members only (never on the rest of the federation): the hub refreshes suggestions
incrementally (``federation.matching.refresh``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from functools import cached_property

import numpy as np
import pycountry
from scipy import sparse

from federation import ConfigurationError, ValueChain, hookimpl
from federation.matching import MatchMember, Scorer
from federation.matching.scorers import blocks

NAME = "match_scorers"
#: Characters of a label or text quoted in a reason.
QUOTED_CHARS = 60
#: Arabic letters written in several ways, folded to one (alef with hamza or madda, alef maqsura, teh marbuta).
ARABIC_VARIANTS = str.maketrans({"\u0622": "\u0627", "\u0623": "\u0627", "\u0625": "\u0627", "\u0671": "\u0627",
                                 "\u0649": "\u064a", "\u0629": "\u0647", "\u0640": None})


def fold(text: str) -> str:
    """Case, accents and Arabic diacritics (harakat, shadda, tatweel) removed; Arabic letter variants made one."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped.translate(ARABIC_VARIANTS))


def _number(config: dict, key: str, low: float = 0.0) -> float:
    """The number at ``key`` (dotted: ``weights.codes``) of the plugin's block, at least ``low``."""
    value: object = config
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
        raise ConfigurationError(f"settings: plugins.{NAME}.{key} must be a number of at least {low}, not {value!r}")
    return float(value)


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTED_CHARS else text[:QUOTED_CHARS - 1] + "…"


def _indicator(rows: Sequence[Mapping[int, float]], width: int) -> sparse.csr_matrix:
    """A CSR matrix from one {column: value} per row."""
    indptr = np.cumsum([0, *(len(r) for r in rows)])
    indices = np.fromiter((c for r in rows for c in r), dtype=np.int64, count=int(indptr[-1]))
    data = np.fromiter((v for r in rows for v in r.values()), dtype=np.float64, count=int(indptr[-1]))
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), width))


class _Vocabulary(dict):
    def __missing__(self, key):
        self[key] = len(self)
        return self[key]


def offers_of(member: MatchMember) -> tuple[str, ...]:
    return member.offer_codes or member.activity_codes


class CodeOverlap(Scorer):
    name = "codes"

    def __init__(self, weight: float, taxonomies, parent_weight: float, coarsest_level: int):
        self.weight = weight
        self.pivot = taxonomies.by_scheme[taxonomies.pivot]
        self.parent_weight = parent_weight
        self.coarsest_level = coarsest_level

    def expanded(self, codes: Sequence[str]) -> dict[str, float]:
        """Each code at 1 and its parents at ``parent_weight`` per level up (the largest weight where two meet)."""
        out: dict[str, float] = {}
        for code in codes:
            lineage = self.pivot.ancestors(code) if code in self.pivot else (code,)
            for up, ancestor in enumerate(lineage):
                if up and self.pivot.codes[ancestor].level < self.coarsest_level:
                    break
                out[ancestor] = max(out.get(ancestor, 0.0), self.parent_weight ** up)
        return out

    def features(self, members):
        vocabulary = _Vocabulary()
        offers = [{vocabulary[c]: w for c, w in self.expanded(offers_of(m)).items()} for m in members]
        needs = [{vocabulary[c]: w for c, w in self.expanded(m.need_codes).items()} for m in members]
        offer, need = _indicator(offers, len(vocabulary)), _indicator(needs, len(vocabulary))
        return blocks([offer, need]), blocks([need, offer])

    def related(self, offered: str, needed: str) -> bool:
        lineage = set(self.expanded([offered])) & set(self.expanded([needed]))
        return offered in lineage or needed in lineage

    def label(self, code: str) -> str:
        return f"{code} {_quote(self.pivot.label(code))}" if code in self.pivot else code

    def explain(self, a, b):
        out = [f"offers {self.label(o)} that {b.name} needs ({n})" if o != n else
               f"offers {self.label(o)} that {b.name} needs"
               for o in offers_of(a) for n in b.need_codes if self.related(o, n)]
        out += [f"needs {self.label(n)} that {b.name} offers ({o})" if o != n else
                f"needs {self.label(n)} that {b.name} offers"
                for n in a.need_codes for o in offers_of(b) if self.related(o, n)]
        return out


class ChainAdjacency(Scorer):
    name = "value_chain"

    def __init__(self, weight: float, value_chains: Mapping[str, ValueChain]):
        self.weight = weight
        self.value_chains = value_chains

    def adjacent(self, chain_id: str, index: int) -> bool:
        """Whether stage ``index`` and the next are both on the chain's flow (neither a support stage)."""
        chain = self.value_chains.get(chain_id)
        return (chain is not None and index + 1 < len(chain.stages)
                and chain.stages[index].kind != "support" and chain.stages[index + 1].kind != "support")

    def features(self, members):
        vocabulary = _Vocabulary()
        # Column (chain, s): a supplier on s-1 meets a customer on s.
        supplies = [{vocabulary[(c, k + 1)]: 1.0 for c, k in m.stages if self.adjacent(c, k)} for m in members]
        buys = [{vocabulary[(c, k)]: 1.0 for c, k in m.stages if k > 0 and self.adjacent(c, k - 1)} for m in members]
        supplier, customer = _indicator(supplies, len(vocabulary)), _indicator(buys, len(vocabulary))
        return blocks([supplier, customer]), blocks([customer, supplier])

    def explain(self, a, b):
        out = []
        for chain_id, index in a.stages:
            if (chain_id, index + 1) in b.stages and self.adjacent(chain_id, index):
                stages = self.value_chains[chain_id].stages
                out.append(f"stage {index} {stages[index].id} supplies stage {index + 1} {stages[index + 1].id} "
                           f"of {chain_id}")
        for chain_id, index in b.stages:
            if (chain_id, index + 1) in a.stages and self.adjacent(chain_id, index):
                stages = self.value_chains[chain_id].stages
                out.append(f"{b.name}'s stage {index} {stages[index].id} supplies stage {index + 1} "
                           f"{stages[index + 1].id} of {chain_id}")
        return out


class TextSimilarity(Scorer):
    name = "text"

    def __init__(self, weight: float, taxonomies, ngram_min: int, ngram_max: int, hash_bits: int,
                 with_code_labels: bool):
        self.weight = weight
        self.pivot = taxonomies.by_scheme[taxonomies.pivot]
        self.ngrams = (ngram_min, ngram_max)
        self.hash_bits = hash_bits
        self.with_code_labels = with_code_labels

    @cached_property
    def vectorizer(self):
        from sklearn.feature_extraction.text import HashingVectorizer

        # Hashed (no vocabulary fitted on the members): a pair's score depends on the pair alone.
        return HashingVectorizer(analyzer="char_wb", ngram_range=self.ngrams, n_features=2 ** self.hash_bits,
                                 alternate_sign=False, norm=None, preprocessor=fold, dtype=np.float64)

    @cached_property
    def idf(self) -> np.ndarray:
        """Rarity of each n-gram among the pivot taxonomy's labels ("manufacture of" is everywhere); an n-gram no
        label has (Arabic text) weighs as the rarest."""
        labels = [label for code in self.pivot.codes.values() for label in code.labels.values()]
        seen = self.vectorizer.transform(labels)
        df = np.bincount(seen.indices, minlength=seen.shape[1])
        return np.log((1 + len(labels)) / (1 + df)) + 1

    def text_of(self, text: str, codes: Sequence[str]) -> str:
        if not self.with_code_labels:
            return text
        labels = [label for code in codes if code in self.pivot for label in self.pivot.codes[code].labels.values()]
        return " ".join([text, *labels])

    def counts(self, texts: Sequence[str], codes: Sequence[Sequence[str]]) -> sparse.csr_matrix:
        """The n-gram counts of ``text_of(text, codes)`` for each member, without writing those texts out: n-grams
        stay within words, so the counts of joined texts are the sums of their parts' counts. Each distinct text is
        read once, and each code's labels once."""
        if not len(texts):
            return sparse.csr_matrix((0, 2 ** self.hash_bits))
        distinct, position = np.unique(np.asarray(texts, dtype=object).astype(str), return_inverse=True)
        counts = sparse.csr_matrix(self.vectorizer.transform(list(distinct)))[position]
        vocabulary = _Vocabulary()
        listed = [[vocabulary[c] for c in member_codes if c in self.pivot] for member_codes in codes] \
            if self.with_code_labels else []
        if not vocabulary:
            return sparse.csr_matrix(counts)
        ones = [dict.fromkeys(c, 0.0) for c in listed]
        for row, columns in zip(ones, listed, strict=True):
            for column in columns:  # a code listed twice has its labels twice, as in text_of
                row[column] += 1.0
        labels = sparse.csr_matrix(self.vectorizer.transform(
            [" ".join(self.pivot.codes[code].labels.values()) for code in vocabulary]), dtype=np.float64)
        return sparse.csr_matrix(counts + _indicator(ones, len(vocabulary)) @ labels)

    def vectors(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        counts = sparse.csr_matrix(counts, dtype=np.float64)
        counts.data = 1 + np.log(counts.data)  # sublinear: a repeated n-gram says little more
        return sparse.csr_matrix(counts @ sparse.diags(self.idf))

    def features(self, members):
        offer = self.vectors(self.counts([m.offers_text for m in members], [offers_of(m) for m in members]))
        need = self.vectors(self.counts([m.needs_text for m in members], [m.need_codes for m in members]))
        return blocks([offer, need]), blocks([need, offer])

    def explain(self, a, b):
        out = []
        if a.offers_text and b.needs_text:
            out.append(f"offers '{_quote(a.offers_text)}', close to what {b.name} needs: '{_quote(b.needs_text)}'")
        if a.needs_text and b.offers_text:
            out.append(f"needs '{_quote(a.needs_text)}', close to what {b.name} offers: '{_quote(b.offers_text)}'")
        return out or [f"what it offers and needs is close to what {b.name} needs and offers"]


class CountryComplement(Scorer):
    name = "countries"

    def __init__(self, weight: float):
        self.weight = weight

    def features(self, members):
        vocabulary = _Vocabulary()
        markets = [{vocabulary[c]: 1.0 for c in m.export_markets} for m in members]
        home = [{vocabulary[m.country]: 1.0} for m in members]
        market, country = _indicator(markets, len(vocabulary)), _indicator(home, len(vocabulary))
        # Blocks: your country in my markets; the markets we share; my country in your markets.
        return blocks([market, market, country]), blocks([country, market, market])

    def explain(self, a, b):
        out = []
        if b.country in a.export_markets:
            out.append(f"exports to {b.country}")
        if a.country in b.export_markets:
            out.append(f"{b.name} exports to {a.country}")
        shared = sorted(set(a.export_markets) & set(b.export_markets))
        if shared:
            out.append(f"both export to {', '.join(shared)}")
        return out


def language_name(tag: str) -> str:
    found = pycountry.languages.get(alpha_2=tag) if len(tag) == 2 else None
    return found.name if found is not None else tag


class CommonLanguages(Scorer):
    name = "languages"

    def __init__(self, weight: float):
        self.weight = weight

    def features(self, members):
        vocabulary = _Vocabulary()
        rows = [{vocabulary[tag]: 1.0 for tag in m.languages} for m in members]
        spoken = blocks([_indicator(rows, len(vocabulary))])
        return spoken, spoken

    def explain(self, a, b):
        common = [t for t in a.languages if t in b.languages]
        return [f"both work in {' and '.join(language_name(t) for t in common)}"] if common else []


@hookimpl
def medmci_match_scorers(settings, taxonomies, value_chains):
    config = settings.plugin_config(NAME)
    parent_weight = _number(config, "parent_weight")
    if parent_weight >= 1:
        raise ConfigurationError(f"settings: plugins.{NAME}.parent_weight must be below 1 (a parent meets less "
                                 "than the code itself)")
    ngram_min, ngram_max = int(_number(config, "ngram_min", low=1)), int(_number(config, "ngram_max", low=1))
    hash_bits = int(_number(config, "hash_bits", low=10))
    if ngram_max < ngram_min or hash_bits > 24:
        raise ConfigurationError(f"settings: plugins.{NAME}: ngram_max must be at least ngram_min, hash_bits at "
                                 "most 24")
    coarsest_level = int(_number(config, "coarsest_level", low=1))
    return [CodeOverlap(_number(config, "weights.codes"), taxonomies, parent_weight, coarsest_level),
            ChainAdjacency(_number(config, "weights.value_chain"), value_chains),
            TextSimilarity(_number(config, "weights.text"), taxonomies, ngram_min, ngram_max, hash_bits,
                           bool(config["with_code_labels"])),
            CountryComplement(_number(config, "weights.countries")),
            CommonLanguages(_number(config, "weights.languages"))]

