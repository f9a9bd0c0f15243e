"""Reports: what is shown from computed measures — catalogue, dashboard data, the medicines-on-a-
page report, inequalities, CUSUM alerts. The top inner layer; the web and CLI adapters (``api``,
``pages``, ``cli``…) sit above it."""
