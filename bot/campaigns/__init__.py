"""Awareness campaigns.

``schema``       the campaign file format, its loader and its checks
``timing``       send rules (yearly or once), occurrences, quiet hours
``service``      load, list, status, send now, pause, resume, cancel, the due-time check
``scheduler``    APScheduler jobs that wake due messages, rebuilt from the database
``broadcaster``  rate-limited, crash-safe sending of deliveries through a ``Sender``
``sending``      the ``Sender`` port each platform implements
``limits``       token bucket per bot, pacing per chat
``runtime``      the scheduler and broadcaster of one process, wired from settings
``commands``     ``tipline campaigns …``

See docs/campaigns.md.
"""
