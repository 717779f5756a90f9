"""monitor: watches news feeds and alerts on articles about Pakistan–Russia relations."""

import logging

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/monitor-news/monitor"

logging.getLogger(__name__).addHandler(logging.NullHandler())
