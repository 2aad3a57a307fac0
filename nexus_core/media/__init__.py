"""Media logic: frames, audio, subtitles, ffmpeg argument builders and the one subprocess runner."""
