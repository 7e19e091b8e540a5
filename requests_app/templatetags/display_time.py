"""{% load display_time %}: the filters of common.display_time for templates."""

from django import template

from common import display_time

register = template.Library()
register.filter("moment", display_time.moment)
register.filter("duration", display_time.duration)
register.filter("ago", display_time.ago)
