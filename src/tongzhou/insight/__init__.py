"""Insight with consent: the leaders' dashboard, members' research consent, research projects
(pseudonymised coding, agreement, suggested codes) and the anonymised export."""
