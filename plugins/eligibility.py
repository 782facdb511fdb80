"""The built-in eligibility rules of funding calls (hook ``medmci_eligibility_rules``).

Each rule reads one condition of a call and says what a consortium lacks to meet it, counting only the partners the
call admits (its countries and kinds: ``Consortium.eligible_for``):

- ``eligible-countries``: at least one partner from the call's countries (lists such as ``interreg-next-med`` are
  the setting ``funding.country_lists``);
- ``eligible-kinds``: at least one partner of the call's entity kinds;
- ``min-partners`` and ``min-countries``: "needs 3 partners, has 2", "needs 3 countries, has 2: LB, MA";
- ``required-kinds``: one partner of each required kind ("needs a university or a research centre");
- ``required-regions``: one partner from each required region ("needs a partner from an EU member state");
- ``deadline``: the call's deadline has not passed (no partner fills that one);
- ``topics``: the call names the consortium's value chain among its keywords, or some partner's activity or offer codes
  meet the call's codes, or its words one of the call's keywords.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from federation import Consortium, CountryLists, EligibilityRule, FundingCall, Gap, hookimpl, kind_words

#: Codes and keywords a topic gap quotes (a call may list many).
QUOTED = 5


def _some(items) -> str:
    items = list(items)
    return ", ".join(items[:QUOTED]) + (f" and {len(items) - QUOTED} more" if len(items) > QUOTED else "")


class EligibleCountries(EligibilityRule):
    name = "eligible-countries"

    def check(self, call: FundingCall, consortium: Consortium) -> list[Gap]:
        if not call.countries or any(p.country in call.countries for p in consortium.partners):
            return []
        named = f" ({', '.join(call.country_lists)})" if call.country_lists else ""
        theirs = sorted({p.country for p in consortium.partners}) or ["none"]
        return [Gap(f"needs a partner from an eligible country{named}; its partners are from {', '.join(theirs)}",
                    countries=call.countries)]


class EligibleKinds(EligibilityRule):
    name = "eligible-kinds"

    def check(self, call: FundingCall, consortium: Consortium) -> list[Gap]:
        if not call.kinds or consortium.eligible_for(call):
            return []
        return [Gap(f"needs a partner that is {kind_words(sorted(call.kinds))}", kinds=call.kinds)]


class MinPartners(EligibilityRule):
    name = "min-partners"

    def check(self, call: FundingCall, consortium: Consortium) -> list[Gap]:
        has = len(consortium.eligible_for(call))
        if has >= call.min_partners:
            return []
        return [Gap(f"needs {call.min_partners} eligible partners, has {has}")]


class MinCountries(EligibilityRule):
    name = "min-countries"

    def check(self, call: FundingCall, consortium: Consortium) -> list[Gap]:
        countries = consortium.countries(call)
        if len(countries) >= call.min_countries:
            return []
        listed = f": {', '.join(countries)}" if countries else ""
        return [Gap(f"needs {call.min_countries} countries, has {len(countries)}{listed}", new_country=True)]


class RequiredKinds(EligibilityRule):
    name = "required-kinds"

    def check(self, call: FundingCall, consortium: Consortium) -> list[Gap]:
        partners = consortium.eligible_for(call)
        return [Gap(f"needs {kind_words(kinds)}", kinds=frozenset(kinds)) for kinds in call.required_kinds
                if not any(p.kind in kinds for p in partners)]


class RequiredRegions(EligibilityRule):
    name = "required-regions"

    def __init__(self, lists: CountryLists):
        self.lists = lists

    def check(self, call: FundingCall, consortium: Consortium) -> list[Gap]:
        partners = consortium.eligible_for(call)
        gaps = []
        for region in call.required_regions:
            countries = self.lists.countries(region)
            if call.countries:
                countries &= call.countries
            if not any(p.country in countries for p in partners):
                gaps.append(Gap(f"needs a partner from {self.lists.label(region)}", countries=countries))
        return gaps


class DeadlinePassed(EligibilityRule):
    name = "deadline"

    def __init__(self, today: Callable[[], date] = date.today):
        self.today = today

    def check(self, call: FundingCall, consortium: Consortium) -> list[Gap]:
        if call.is_open(self.today()):
            return []
        return [Gap(f"the deadline passed on {call.deadline.isoformat()}", fillable=False)]


class TopicMatch(EligibilityRule):
    name = "topics"

    def check(self, call: FundingCall, consortium: Consortium) -> list[Gap]:
        if not call.topics and not call.keywords:
            return []
        keywords = [k.casefold() for k in call.keywords]
        if consortium.value_chain.casefold() in {k.replace(" ", "-") for k in keywords}:
            return []  # a call on "agri-food" is the agri-food meta-cluster's own topic, whatever its members write
        for partner in consortium.eligible_for(call):
            if partner.codes & call.topics or any(k in partner.words for k in keywords):
                return []
        wanted = [f"codes {_some(call.topic_codes)}" if call.topic_codes else "",
                  f"keywords {_some(call.keywords)}" if call.keywords else ""]
        return [Gap(f"needs a partner working on the call's topics ({'; '.join(w for w in wanted if w)})",
                    codes=call.topics, keywords=tuple(keywords))]


@hookimpl
def medmci_eligibility_rules(settings):
    lists = CountryLists.from_settings(settings)
    return [EligibleCountries(), EligibleKinds(), MinPartners(), MinCountries(), RequiredKinds(),
            RequiredRegions(lists), DeadlinePassed(), TopicMatch()]
