"""Frame sources: images, folders, video files, the camera off the Pi, and open_source."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from station.sources import ImageFolderSource, ImageSource, Picamera2Source, SourceError, VideoFileSource, open_source

from conftest import require_shared, video_packets, write_clip, zero_packets


def test_image_source_drops_alpha(tmp_path):
    path = tmp_path / "rgba.png"
    Image.new("RGBA", (32, 24), (10, 20, 30, 128)).save(path)
    frames = list(ImageSource(path))
    assert len(frames) == 1
    timestamp, frame = frames[0]
    assert frame.shape == (24, 32, 3) and frame.dtype == np.uint8
    assert tuple(frame[0, 0]) == (10, 20, 30)


def test_folder_source_orders_by_name_and_times_by_fps(tmp_path):
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        Image.new("RGB", (8, 8), colour).save(tmp_path / f"f{2 - i}.png")
    frames = list(ImageFolderSource(tmp_path, fps=10))
    assert [t for t, _ in frames] == pytest.approx([0.0, 0.1, 0.2])
    assert tuple(frames[0][1][0, 0]) == (0, 0, 255)  # f0.png was written last, in blue


def test_a_folder_skips_an_unreadable_image_and_says_which(tmp_path):
    """One truncated image stopped the whole folder at that file: the rest were never looked at."""
    for i in range(4):
        Image.new("RGB", (8, 8), (i * 60, 0, 0)).save(tmp_path / f"f{i}.png")
    good = (tmp_path / "f1.png").read_bytes()
    (tmp_path / "f1.png").write_bytes(good[: len(good) // 2])
    source = ImageFolderSource(tmp_path, fps=10)
    frames = list(source)
    assert [t for t, _ in frames] == pytest.approx([0.0, 0.2, 0.3]), "the others, at their own times"
    assert [p.name for p in source.skipped] == ["f1.png"]
    for name in ("f0.png", "f2.png", "f3.png"):
        (tmp_path / name).write_text("not an image")
    with pytest.raises(SourceError, match="none of the 4 images in .* could be read"):
        list(ImageFolderSource(tmp_path))


def test_an_image_claiming_a_billion_pixels_is_a_clear_error_and_skipped_in_a_folder(tmp_path):
    """Pillow's decompression-bomb check is not an OSError: a 100 KB PNG of 30000x30000 gave a
    traceback alone and stopped a whole folder."""
    Image.new("1", (30000, 30000)).save(tmp_path / "huge.png")
    with pytest.raises(SourceError, match="huge.png: it claims more pixels than Pillow will safely open"):
        ImageSource(tmp_path / "huge.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "ok.png")
    source = ImageFolderSource(tmp_path)
    assert len(list(source)) == 1 and [p.name for p in source.skipped] == ["huge.png"]


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="holds no images"):
        ImageFolderSource(tmp_path)


def test_video_source_yields_rgb_frames_with_increasing_timestamps():
    clip = require_shared("peer-tfjs-pose-detection", "pose_1.mp4")
    source = VideoFileSource(clip)
    stamps = [t for t, frame in source]
    source.close()
    assert len(stamps) == 120
    assert np.all(np.diff(stamps) > 0)
    assert stamps[-1] == pytest.approx(119 / 30, abs=0.05)


def test_camera_source_off_the_pi_says_picamera2_is_missing():
    """Here: not installed. In an emulated root whose stand-in fails like a numpy-2-shadowed Bookworm
    (STATION_FAKE_PICAMERA2=abi): the numpy advice instead."""
    expected = "picamera2 is not installed"
    try:
        import picamera2  # noqa: F401
        pytest.skip("picamera2 is installed here")
    except ImportError:
        pass
    except ValueError:
        expected = "picamera2 cannot load with this numpy"
    with pytest.raises(SourceError, match=expected):
        Picamera2Source()


def test_a_file_with_sound_and_no_picture_says_so(tmp_path):
    """An audio-only .mp4 said 'tuple index out of range'."""
    import av

    path = tmp_path / "voice-memo.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        stream.layout = "mono"
        for i in range(4):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(SourceError, match=r"voice-memo.mp4: it holds no pictures, only audio"):
        VideoFileSource(path)


def test_a_text_file_named_like_a_video_says_what_is_wrong_without_ffmpeg_errno(tmp_path):
    """It said "[Errno 1094995529] Invalid data found when processing input"."""
    path = tmp_path / "set.mp4"
    path.write_text("these are my notes, not a video\n" * 20)
    with pytest.raises(SourceError) as info:
        VideoFileSource(path)
    assert "set.mp4: it is not a video FFmpeg can read" in str(info.value)
    assert "Errno" not in str(info.value)


def test_a_video_cut_inside_its_header_says_damaged_or_cut_short(tmp_path):
    """Its first 1000 bytes gave FFmpeg's bare "End of file"."""
    import av

    whole = tmp_path / "whole.mp4"
    with av.open(str(whole), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    moov = data.find(b"moov")
    assert moov > 0
    cut.write_bytes(data[: moov + 40])            # the file ends inside its header
    with pytest.raises(SourceError) as info:
        VideoFileSource(cut)
    assert "cut.mp4: " in str(info.value) and ("cut short" in str(info.value)) and "End of file" not in str(info.value)


def test_a_recording_with_nothing_in_it_says_so(tmp_path):
    """A recording stopped before its first frame: it said "no video stream (only no streams at all)"."""
    import av

    path = tmp_path / "empty.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()    # the header is written, no frame ever comes: FFmpeg finds no streams in it
    with pytest.raises(SourceError, match=r"empty.mp4: the file holds no pictures at all") as info:
        list(VideoFileSource(path))
    assert "no streams" not in str(info.value)


def test_a_raw_h264_stream_without_timestamps_plays_at_its_rate(tmp_path):
    """rpicam-vid writes raw H.264 by default: no container, no timestamps. Every frame came out at
    0 s and `station analyze` said "no reps found"."""
    import av

    path = tmp_path / "set.h264"
    with av.open(str(path), "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 10 * i, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    source = VideoFileSource(path)
    times = [t for t, _ in source]
    source.close()
    assert len(times) == 10 and times[0] == 0.0
    assert np.allclose(np.diff(times), 1.0 / source.nominal_fps) and 10 <= source.nominal_fps <= 60


def test_open_source_rejects_unknown_specs(tmp_path):
    with pytest.raises(SourceError, match="missing.mp4': no such file or folder"):
        open_source(str(tmp_path / "missing.mp4"))
    odd = tmp_path / "notes.txt"
    odd.write_text("x")
    with pytest.raises(SourceError, match="unknown file type"):
        open_source(str(odd))


def _frame_times(source):
    times = [t for t, _ in source]
    source.close()
    return times


def test_a_video_with_damaged_packets_skips_them_and_keeps_the_real_times(tmp_path):
    """The first packet that would not decode ended the file ("decoding ... failed after 1.0 s"): a
    real clip with 43 of them kept 25 of its 990 frames and none of its 12 reps. The others come
    out at their own times (the analysis works in seconds), and the damage is counted."""
    whole = write_clip(tmp_path / "whole.mp4")
    holes = zero_packets(whole, tmp_path / "holes.mp4", lambda t: round(t * 25) in (30, 70, 130))
    intact = _frame_times(VideoFileSource(whole))
    source = VideoFileSource(holes)
    times = _frame_times(source)
    assert len(intact) == 200 and len(times) == 197
    assert times == [t for t in intact if round(t * 25) not in (30, 70, 130)], "not re-counted after a hole"
    assert source.damaged_packets == 3
    assert source.damage_report() == "3 damaged packets skipped in holes.mp4 (between 1.2 s and 5.2 s)"
    assert VideoFileSource(whole).damage_report() is None


def test_damage_ends_the_file_only_when_nothing_decodes_for_five_seconds(tmp_path):
    """A hole of 3 s (a rep or so) is skipped like any damage; one of 6 s ends the file with what
    came before it, as one that breaks part-way, rather than grinding on through garbage."""
    whole = write_clip(tmp_path / "whole.mp4", seconds=10)
    short_hole = zero_packets(whole, tmp_path / "short.mp4", lambda t: 2.0 <= t < 5.0)
    times = _frame_times(VideoFileSource(short_hole))
    assert [t for t in times if t < 2.0] == pytest.approx(np.arange(50) / 25)
    assert [t for t in times if t >= 2.0][0] == pytest.approx(5.0) and times[-1] == pytest.approx(9.96)
    long_hole = zero_packets(whole, tmp_path / "long.mp4", lambda t: 2.0 <= t < 8.5)
    source = VideoFileSource(long_hole)
    frames = _frames_until_it_fails(source, r"long.mp4 failed after 1\.\d s: the file is damaged: no picture in "
                                            r"it decodes from 1\.\d s to 6\.9 s")
    assert len(frames) >= 45 and frames[-1] < 2.0, "what came before the damage is kept"
    assert 120 <= source.damaged_packets <= 126, "5 s of packets at 25 fps, not the 2.5 s after them"


def test_a_video_cut_between_two_packets_says_cut_short(tmp_path):
    """Cut where one packet ends and the next begins, no packet fails to decode: the file just ended,
    and `station analyze` said nothing of the missing half. Its header states its length."""
    whole = write_clip(tmp_path / "whole.mp4", options={"movflags": "faststart"})   # the index first
    packets = video_packets(whole)
    pos, size, _ = packets[len(packets) // 2]
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: pos + size])
    source = VideoFileSource(cut)
    frames = _frames_until_it_fails(source, r"cut.mp4 failed after \d+\.\d s: the file is damaged or cut short "
                                            r"\(its pictures stop at 4\.\d s of the 8\.0 s it states\)")
    assert 90 <= len(frames) <= 101 and source.damaged_packets == 0


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_a_clip_that_starts_after_zero_is_not_called_cut_short(tmp_path, suffix):
    """Matroska's stated length already ends where the file ends: adding the start counted it twice,
    and an intact clip starting at 1 s read "its pictures stop at 27.3 s of the 28.3 s it states"."""
    import av

    source = write_clip(tmp_path / f"a{suffix}", seconds=3.0)
    shifted = tmp_path / f"shifted{suffix}"
    with av.open(str(source)) as original, av.open(str(shifted), "w") as out:
        stream = original.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in original.demux(stream):
            if packet.dts is None:
                continue
            offset = int(round(1.0 / packet.time_base))    # 1 s later
            packet.pts += offset
            packet.dts += offset
            packet.stream = copy
            out.mux(packet)
    video = VideoFileSource(shifted)
    times = [t for t, _ in video]
    video.close()
    assert len(times) >= 70 and times[0] == pytest.approx(1.0, abs=0.15)


def _frames_until_it_fails(source: VideoFileSource, message: str) -> list[float]:
    """The frames' times a source gave before the SourceError matching `message`."""
    frames = []
    with pytest.raises(SourceError, match=message):
        for timestamp, _ in source:
            frames.append(timestamp)
    return frames


@pytest.mark.parametrize("capture_fps, scale", [(None, 1.0), ("25.000000", 1.0), ("100.000000", 0.25),
                                                ("240.000000", 25 / 240), ("50.000000", 1.0), ("30.000000", 1.0),
                                                ("5.000000", 1.0), ("garbage", 1.0)])
def test_slow_motion_comes_out_on_the_lifters_clock(tmp_path, capture_fps, scale):
    """A phone's slow motion (a 100 fps capture played at 25) runs the file's clock four times slow: a
    rep's seconds, speeds and windows were the file's, and the dev clips at half speed counted extra
    reps. Android's capture-rate tag puts the frames back on the lifter's clock; without one, or with
    one that is not a high-speed capture, the file's clock stays: a tag of 30 (or 50) on a file a dim
    room slowed to 25 fps carries the real times already, and a timelapse is left as it is."""
    path = tmp_path / "slowmo.mp4"
    options = {"movflags": "use_metadata_tags"}    # the tag goes where Android writes it (mdta keys)
    if capture_fps is None:
        write_clip(path, seconds=2.0, rate=25, options=options)
    else:
        _write_tagged_clip(path, capture_fps, options)
    source = VideoFileSource(path)
    times = _frame_times(source)
    assert source.time_scale == pytest.approx(scale)
    assert times == pytest.approx(np.arange(50) / 25 * scale)
    declared = VideoFileSource(path, time_scale=1.0)    # the caller's word over the tag
    assert declared.time_scale == 1.0 and _frame_times(declared) == pytest.approx(np.arange(50) / 25)


def _write_tagged_clip(path, capture_fps: str, options: dict) -> None:
    import av

    with av.open(str(path), "w", options=options) as out:
        out.metadata["com.android.capture.fps"] = capture_fps
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(50):
            picture = np.zeros((48, 64, 3), np.uint8)
            picture[:, i % 64] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
