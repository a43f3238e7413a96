"""Create the benchmark's users, group, memberships and tokens; print them as JSON.

Run by bench/delivery.py in a subprocess, with TONGZHOU_DATA_DIR pointing at a fresh,
migrated data directory:

    python bench/delivery_setup.py N

creates a sender (the group's leader) and N receiving members, and prints
{"group": gid, "sender": token, "receivers": [token, ...]} on stdout.
Users get an unusable password: the benchmark clients authenticate with API tokens only,
and hashing 1000 passwords would dominate the set-up time.
"""

from __future__ import annotations

import json
import os
import sys


def main(n: int) -> dict[str, object]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongzhou.settings")
    import django

    django.setup()

    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from tongzhou.accounts.models import ApiToken, User
    from tongzhou.groups.actions import do_create_group
    from tongzhou.groups.models import Group, Membership

    unusable = make_password(None)
    with transaction.atomic():
        User.objects.bulk_create(
            [
                User(username=f"bench{i:05d}", display_name=f"Bench {i}", password=unusable)
                for i in range(n + 1)
            ]
        )
        users = list(User.objects.filter(username__startswith="bench").order_by("username"))
        sender, receivers = users[0], users[1:]
        group = do_create_group(sender, f"Delivery benchmark ({n} members)")
        # The product default cap is 150; the benchmark also measures larger groups
        # (a leader may raise the cap up to groups.actions.MAX_CAP).
        Group.objects.filter(pk=group.pk).update(member_cap=max(group.member_cap, n + 1))
        Membership.objects.bulk_create(
            [Membership(group=group, user=u, role=Membership.GroupRole.MEMBER) for u in receivers]
        )
        tokens = [ApiToken.issue(u) for u in users]
    return {"group": group.pk, "sender": tokens[0], "receivers": tokens[1:]}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
