from testctr.django.fixtures import django_db_modify_db_settings  # noqa: F401
