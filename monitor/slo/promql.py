"""An SLI source over Prometheus' HTTP API (``/api/v1/query``), for ``source: prometheus``.

Each question becomes one or more instant queries evaluated at ``at``:

- counter growth: ``sum(increase(<selector>[<window>]))``. Prometheus extrapolates
  ``increase()`` to the window edges, so it can differ slightly from the store's exact
  growth between samples;
- gauge samples: ``sum(count_over_time(<selector>[<window>]))`` and
  ``sum(sum_over_time(<selector>[<window>]))``, both over the raw samples;
- gauge samples above zero: PromQL cannot filter a range of raw samples, so the share of
  positive values is taken from a subquery, ``count_over_time((<selector> > 0)[<window>:<step>])``
  over ``count_over_time((<selector>)[<window>:<step>])``, and applied to the raw count.
  The step is the window / 1440, at least 15s (15s for 5m, 30m for 30d), so the share is
  exact for gauges that hold their value for a step and an approximation for faster ones;
- label values: ``count by (<label>) (last_over_time(<selector>[<window>]))``.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import datetime, timedelta
from typing import Any

import httpx

from monitor.core.matchers import Selector
from monitor.core.model import Labels
from monitor.core.time import to_epoch
from monitor.slo.sli import GaugeStats, SLISourceError

__all__ = ["PromQLSLISource", "promql_duration"]

log = logging.getLogger(__name__)

_MIN_STEP = timedelta(seconds=15)
_STEPS_PER_WINDOW = 1440


def promql_duration(window: timedelta) -> str:
    """Render *window* as a PromQL duration: whole seconds, or milliseconds when needed.

    Examples
    --------
    >>> promql_duration(timedelta(days=30)), promql_duration(timedelta(seconds=1.5))
    ('2592000s', '1500ms')
    """
    millis = round(window.total_seconds() * 1000)
    if millis <= 0:
        raise ValueError(f"window must be positive, got {window}")
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


class PromQLSLISource:
    """Answer SLI questions with instant queries against a Prometheus server.

    Parameters
    ----------
    url
        The server's base URL, e.g. ``http://prometheus:9090`` (a path prefix is kept).
    timeout
        Seconds to wait for each query.
    client
        An ``httpx.Client`` to send queries with (auth, TLS, proxies); one is made if omitted.

    Raises
    ------
    SLISourceError
        From every method, when Prometheus is unreachable, times out or refuses a query;
        the message names the URL and the query.
    """

    def __init__(self, url: str, *, timeout: float = 10.0,
                 client: httpx.Client | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"Prometheus url must start with http:// or https://, got {url!r}")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._client = client if client is not None else httpx.Client()
        self._owns_client = client is None

    def close(self) -> None:
        """Close the HTTP client if this source made it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> PromQLSLISource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def increase(self, selector: Selector, window: timedelta, at: datetime) -> float | None:
        """Return ``sum(increase(selector[window]))`` at *at*; ``None`` if nothing matched."""
        return self._scalar(f"sum(increase({selector}[{promql_duration(window)}]))", at)

    def gauge(self, selector: Selector, window: timedelta, at: datetime) -> GaugeStats | None:
        """Return count, sum and (approximate) positive count of the samples in the window."""
        rng = promql_duration(window)
        count = self._scalar(f"sum(count_over_time({selector}[{rng}]))", at)
        if not count:
            return None
        total = self._scalar(f"sum(sum_over_time({selector}[{rng}]))", at) or 0.0
        sub = f"[{rng}:{promql_duration(max(_MIN_STEP, window / _STEPS_PER_WINDOW))}]"
        stepped = self._scalar(f"sum(count_over_time(({selector}){sub}))", at)
        above = self._scalar(f"sum(count_over_time(({selector} > 0){sub}))", at) or 0.0
        share = above / stepped if stepped else 0.0
        raw = round(count)
        return GaugeStats(count=raw, total=total, positive=min(raw, round(raw * share)))

    def label_values(self, selector: Selector, label: str, window: timedelta,
                     at: datetime) -> set[str]:
        """Return the non-empty values of *label* on selected series with samples in the window."""
        query = f"count by ({label}) (last_over_time({selector}[{promql_duration(window)}]))"
        return {v for labels, _ in self._vector(query, at) if (v := labels.get(label))}

    # -- HTTP ------------------------------------------------------------------------------
    def _scalar(self, query: str, at: datetime) -> float | None:
        values = [v for _, v in self._vector(query, at) if not math.isnan(v)]
        return sum(values) if values else None

    def _vector(self, query: str, at: datetime) -> list[tuple[Labels, float]]:
        data = self._query(query, at)
        kind, result = data.get("resultType"), data.get("result")
        if kind == "scalar" and isinstance(result, list):
            return [(Labels({}), self._number(result, query))]
        if kind != "vector" or not isinstance(result, list):
            raise self._error(query, f"expected a vector result, got resultType {kind!r}")
        return [(Labels({str(k): str(v) for k, v in item.get("metric", {}).items()}),
                 self._number(item.get("value"), query)) for item in result]

    def _number(self, pair: Any, query: str) -> float:
        try:
            return float(pair[1])
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise self._error(query, f"unreadable sample value {pair!r}") from exc

    def _query(self, query: str, at: datetime) -> dict[str, Any]:
        endpoint = f"{self.url}/api/v1/query"
        log.debug("querying %s: %s", endpoint, query)
        try:
            response = self._client.post(endpoint, data={"query": query,
                                                         "time": f"{to_epoch(at):.3f}"},
                                         timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise self._error(query, f"no answer within {self.timeout}s; raise the timeout or "
                                     "simplify the query") from exc
        except httpx.HTTPError as exc:
            raise self._error(query, f"cannot reach Prometheus ({exc}); check the url and "
                                     "that Prometheus is running") from exc
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if isinstance(body, dict) and body.get("status") == "error":
            raise self._error(query, f"{body.get('errorType', 'error')}: "
                                     f"{body.get('error', 'no detail')}"
                                     f" (HTTP {response.status_code})")
        if response.status_code >= 400 or not isinstance(body, dict):
            snippet = response.text[:200].strip() or "empty body"
            raise self._error(query, f"HTTP {response.status_code}: {snippet}")
        data = body.get("data")
        if body.get("status") != "success" or not isinstance(data, dict):
            raise self._error(query, f"unexpected answer {str(body)[:200]}")
        return data

    def _error(self, query: str, problem: str) -> SLISourceError:
        return SLISourceError(f"Prometheus {self.url}: query {query!r}: {problem}")
