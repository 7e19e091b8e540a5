// Tell the server the viewer's time zone so it can show times in it (see common/viewer_timezone.py).
(function () {
  var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (tz && document.cookie.indexOf("tz=" + tz) === -1) {
    document.cookie = "tz=" + tz + "; path=/; max-age=31536000; samesite=lax";
  }
})();
