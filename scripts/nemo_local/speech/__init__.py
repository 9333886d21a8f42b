"""Speech: recognition with word times (`asr`, `models`, `align`), the user's own words (`transcripts`) and
caption pages (`captions`), all in timed `words`."""
