"""Create the scale-out benchmark's groups, members and tokens; print them as JSON.

Run by bench/scaleout.py in a subprocess, with DATABASE_URL pointing at a fresh, migrated
PostgreSQL database:

    python bench/scaleout_setup.py GROUPS MEMBERS

creates GROUPS groups, each with a leader (the group's sender) and MEMBERS members (every
person in exactly one group), and prints
{"groups": [{"group": gid, "sender": token, "receivers": [token, ...]}, ...]} on stdout.
As in bench/delivery_setup.py, users get an unusable password (the clients use API tokens
only; hashing 1,500 passwords would dominate the set-up).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def main(groups: int, members: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongzhou.settings")
    import django

    django.setup()

    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from tongzhou.accounts.models import ApiToken, User
    from tongzhou.groups.actions import do_create_group
    from tongzhou.groups.models import Group, Membership

    unusable = make_password(None)
    per_group = members + 1  # the leader first, then the members
    out: list[dict[str, Any]] = []
    with transaction.atomic():
        User.objects.bulk_create(
            [
                User(
                    username=f"so{g:02d}x{i:04d}", display_name=f"Scale {g}.{i}", password=unusable
                )
                for g in range(groups)
                for i in range(per_group)
            ]
        )
        for g in range(groups):
            users = list(
                User.objects.filter(username__startswith=f"so{g:02d}x").order_by("username")
            )
            leader, rest = users[0], users[1:]
            group = do_create_group(leader, f"Scale-out benchmark {g + 1}")
            # Leader + MEMBERS is one over the product's default cap of 150 at the full size;
            # a leader may raise the cap (up to groups.actions.MAX_CAP).
            Group.objects.filter(pk=group.pk).update(member_cap=max(group.member_cap, per_group))
            Membership.objects.bulk_create(
                [Membership(group=group, user=u, role=Membership.GroupRole.MEMBER) for u in rest]
            )
            tokens = [ApiToken.issue(u) for u in users]
            out.append({"group": group.pk, "sender": tokens[0], "receivers": tokens[1:]})
    return {"groups": out}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
