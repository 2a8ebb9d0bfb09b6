"""Media keys and headset buttons: voiceguide as an MPRIS player on the D-Bus session bus.

Desktop media keys, Bluetooth headset buttons (BlueZ's `mpris-proxy`) and controllers such as
`playerctl` speak MPRIS. While a session plays, it owns `org.mpris.MediaPlayer2.voiceguide`
(`...voiceguide.instance<pid>` when another session has that name), and Play, Pause, PlayPause,
Next, Previous and Stop become the keys' commands. PlaybackStatus and Metadata (the routine as
album, the step as title, the session's length) are signalled as they change; Position is
answered when asked, and a jump (a skip, a resume that repeats an instruction) is signalled
with Seeked, as the specification has it.

The bus is spoken through `jeepney` (pure Python, imported here only), on a thread of its own:
the player never waits for the bus. No bus, or a bus that goes away: the session plays on, with
at most one line said.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable

from voiceguide.player import BACK, NEXT, PAUSE, QUIT, Status
from voiceguide.timeline import Timeline

NAME = "org.mpris.MediaPlayer2.voiceguide"
PATH = "/org/mpris/MediaPlayer2"
ROOT = "org.mpris.MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
PROPERTIES = "org.freedesktop.DBus.Properties"
INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"
POLL = 0.1  # seconds the bus thread waits for a message before sending what is queued
JUMP = 0.5  # seconds: a position that moves by more than this between updates is a seek

INTROSPECTION = f"""<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
 <interface name="{INTROSPECTABLE}">
  <method name="Introspect"><arg name="xml" type="s" direction="out"/></method>
 </interface>
 <interface name="{PROPERTIES}">
  <method name="Get"><arg type="s" direction="in"/><arg type="s" direction="in"/>
   <arg type="v" direction="out"/></method>
  <method name="GetAll"><arg type="s" direction="in"/><arg type="a{{sv}}" direction="out"/></method>
  <method name="Set"><arg type="s" direction="in"/><arg type="s" direction="in"/>
   <arg type="v" direction="in"/></method>
  <signal name="PropertiesChanged"><arg type="s"/><arg type="a{{sv}}"/><arg type="as"/></signal>
 </interface>
 <interface name="{ROOT}">
  <method name="Raise"/><method name="Quit"/>
  <property name="CanQuit" type="b" access="read"/>
  <property name="CanRaise" type="b" access="read"/>
  <property name="HasTrackList" type="b" access="read"/>
  <property name="Identity" type="s" access="read"/>
  <property name="SupportedUriSchemes" type="as" access="read"/>
  <property name="SupportedMimeTypes" type="as" access="read"/>
 </interface>
 <interface name="{PLAYER}">
  <method name="Next"/><method name="Previous"/><method name="Pause"/>
  <method name="PlayPause"/><method name="Stop"/><method name="Play"/>
  <method name="Seek"><arg type="x" direction="in"/></method>
  <method name="SetPosition"><arg type="o" direction="in"/><arg type="x" direction="in"/></method>
  <method name="OpenUri"><arg type="s" direction="in"/></method>
  <signal name="Seeked"><arg type="x"/></signal>
  <property name="PlaybackStatus" type="s" access="read"/>
  <property name="Rate" type="d" access="read"/>
  <property name="Metadata" type="a{{sv}}" access="read"/>
  <property name="Volume" type="d" access="read"/>
  <property name="Position" type="x" access="read"/>
  <property name="MinimumRate" type="d" access="read"/>
  <property name="MaximumRate" type="d" access="read"/>
  <property name="CanGoNext" type="b" access="read"/>
  <property name="CanGoPrevious" type="b" access="read"/>
  <property name="CanPlay" type="b" access="read"/>
  <property name="CanPause" type="b" access="read"/>
  <property name="CanSeek" type="b" access="read"/>
  <property name="CanControl" type="b" access="read"/>
 </interface>
</node>
"""


class MediaKeys:
    """The MPRIS side of one session. `update` is called with each status (from the player's
    thread); everything that touches the bus happens on the bus thread."""

    def __init__(
        self,
        put: Callable[[str], None],
        title: str,
        timeline: Timeline,
        say: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    ):
        self.put = put  # hands a command to the player
        self.title = title
        self.rate = timeline.sample_rate
        self.length: int | None = None if timeline.to_come else timeline.length  # None: unknown
        self.say = say
        self.lock = threading.Lock()
        self.status = "Playing"
        self.step = (1, timeline.steps[0].title if timeline.steps else title)
        self.position = 0  # samples
        self.outbox: queue.SimpleQueue = queue.SimpleQueue()  # (kind, payload) to signal
        self.stopping = threading.Event()
        self.name: str | None = None  # the bus name owned, once owned
        self.thread = threading.Thread(target=self._serve, name="voiceguide-mpris", daemon=True)
        self.thread.start()

    # -- from the player

    def update(self, status: Status) -> None:
        state = "Stopped" if status.finished else "Paused" if status.paused else "Playing"
        step = (status.step.index, status.step.title)
        with self.lock:
            # Updates come four times a second: a move back, or far ahead, is a jump.
            moved = status.position - self.position
            jumped = moved < 0 or moved > JUMP * self.rate
            changed = {}
            if state != self.status:
                self.status = state
                changed["PlaybackStatus"] = ("s", state)
            length = status.length if status.length_known else None
            if step != self.step or length != self.length:
                self.step, self.length = step, length
                changed["Metadata"] = ("a{sv}", self._metadata())
            self.position = status.position
        if changed:
            self.outbox.put(("changed", changed))
        if jumped:
            self.outbox.put(("seeked", self._microseconds(status.position)))

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=1.0)

    # -- the bus thread

    def _serve(self) -> None:
        try:
            from jeepney.io.blocking import open_dbus_connection
        except ImportError:
            return  # no D-Bus library: no media keys, and nothing to say
        try:
            connection = open_dbus_connection(bus="SESSION", auth_timeout=1.0)
        except Exception:
            return  # no session bus (a console, a container): play as without one
        try:
            self.name = self._own_name(connection)
            self._loop(connection)
        except Exception as e:  # the bus went away mid-session, or refused us
            if not self.stopping.is_set():
                self.say(f"note: media keys stopped working ({type(e).__name__}); keys still work")
        finally:
            connection.close()

    def _own_name(self, connection) -> str:
        from jeepney import DBusAddress, new_method_call

        bus = DBusAddress("/org/freedesktop/DBus", "org.freedesktop.DBus", "org.freedesktop.DBus")
        for name in (NAME, f"{NAME}.instance{os.getpid()}"):
            reply = connection.send_and_get_reply(
                new_method_call(bus, "RequestName", "su", (name, 4)),  # 4: do not queue
                timeout=2.0,
            )
            if reply.body[0] in (1, 4):  # primary owner, or already owner
                return name
        raise RuntimeError("no MPRIS name was free")

    def _loop(self, connection) -> None:
        from jeepney import MessageType

        while not self.stopping.is_set():
            self._send_queued(connection)
            try:
                message = connection.receive(timeout=POLL)
            except TimeoutError:
                continue
            if message.header.message_type == MessageType.method_call:
                connection.send(self._answer(message))
        self._send_queued(connection)

    def _send_queued(self, connection) -> None:
        from jeepney import DBusAddress, new_signal

        while True:
            try:
                kind, payload = self.outbox.get_nowait()
            except queue.Empty:
                return
            if kind == "changed":
                emitter = DBusAddress(PATH, interface=PROPERTIES)
                body = (PLAYER, payload, [])
                connection.send(new_signal(emitter, "PropertiesChanged", "sa{sv}as", body))
            else:
                emitter = DBusAddress(PATH, interface=PLAYER)
                connection.send(new_signal(emitter, "Seeked", "x", (payload,)))

    # -- answering calls

    def _answer(self, message):
        from jeepney import HeaderFields, new_error, new_method_return

        fields = message.header.fields
        interface = fields.get(HeaderFields.interface)
        member = fields.get(HeaderFields.member)
        signature = fields.get(HeaderFields.signature, "")
        try:
            if fields.get(HeaderFields.path) != PATH:
                return new_error(message, "org.freedesktop.DBus.Error.UnknownObject")
            found = self._call(interface, member, signature, message.body)
        except _Refused as e:
            return new_error(message, e.name, "s", (e.text,))
        except Exception as e:  # a bug here must not end the session, nor leave a caller hanging
            return new_error(message, "org.freedesktop.DBus.Error.Failed", "s", (str(e),))
        if found is None:
            return new_method_return(message)
        return new_method_return(message, *found)

    def _call(self, interface: str | None, member: str | None, signature: str, body: tuple):
        commands = {
            "Next": NEXT,
            "Previous": BACK,
            "Stop": QUIT,
            "PlayPause": PAUSE,
        }
        if interface in (PLAYER, None) and member in (*commands, "Play", "Pause"):
            _expect(signature, "")
            with self.lock:
                playing = self.status == "Playing"
            if member in commands:
                self.put(commands[member])
            elif (member == "Play") != playing:  # Play when paused, Pause when playing
                self.put(PAUSE)
            return None
        if interface in (ROOT, None) and member == "Quit":
            _expect(signature, "")
            self.put(QUIT)
            return None
        if interface in (ROOT, None) and member == "Raise":
            return None
        if interface in (PLAYER, None) and member in ("Seek", "SetPosition"):
            return None  # CanSeek is false: the specification says to do nothing
        if interface == PROPERTIES and member == "Get":
            _expect(signature, "ss")
            return "v", (self._property(*body),)
        if interface == PROPERTIES and member == "GetAll":
            _expect(signature, "s")
            return "a{sv}", (self._properties(body[0]),)
        if interface == PROPERTIES and member == "Set":
            raise _Refused("org.freedesktop.DBus.Error.PropertyReadOnly", "read-only")
        if interface == INTROSPECTABLE and member == "Introspect":
            return "s", (INTROSPECTION,)
        raise _Refused("org.freedesktop.DBus.Error.UnknownMethod", f"no method {member}")

    def _properties(self, interface: str) -> dict:
        if interface == ROOT:
            return {
                "CanQuit": ("b", True),
                "CanRaise": ("b", False),
                "HasTrackList": ("b", False),
                "Identity": ("s", "voiceguide"),
                "SupportedUriSchemes": ("as", []),
                "SupportedMimeTypes": ("as", []),
            }
        if interface == PLAYER:
            with self.lock:
                return {
                    "PlaybackStatus": ("s", self.status),
                    "Rate": ("d", 1.0),
                    "Metadata": ("a{sv}", self._metadata()),
                    "Volume": ("d", 1.0),
                    "Position": ("x", self._microseconds(self.position)),
                    "MinimumRate": ("d", 1.0),
                    "MaximumRate": ("d", 1.0),
                    "CanGoNext": ("b", True),
                    "CanGoPrevious": ("b", True),
                    "CanPlay": ("b", True),
                    "CanPause": ("b", True),
                    "CanSeek": ("b", False),
                    "CanControl": ("b", True),
                }
        raise _Refused("org.freedesktop.DBus.Error.UnknownInterface", f"no interface {interface}")

    def _property(self, interface: str, name: str):
        found = self._properties(interface).get(name)
        if found is None:
            raise _Refused("org.freedesktop.DBus.Error.UnknownProperty", f"no property {name}")
        return found

    def _metadata(self) -> dict:
        index, title = self.step
        length = self.length
        known = {} if length is None else {"mpris:length": ("x", self._microseconds(length))}
        return {
            "mpris:trackid": ("o", f"/org/voiceguide/step/{index}"),
            **known,  # the session's length, once it is laid out whole
            "xesam:title": ("s", title),
            "xesam:album": ("s", self.title),
            "xesam:trackNumber": ("i", index),
        }

    def _microseconds(self, samples: int) -> int:
        return samples * 1_000_000 // self.rate


class _Refused(Exception):
    def __init__(self, name: str, text: str):
        super().__init__(text)
        self.name, self.text = name, text


def _expect(signature: str, wanted: str) -> None:
    if signature != wanted:
        raise _Refused(
            "org.freedesktop.DBus.Error.InvalidArgs",
            f"expected arguments '{wanted}', got '{signature}'",
        )


class _NoKeys:
    name = None

    def update(self, status: Status) -> None:
        pass

    def close(self) -> None:
        pass


def media_keys(put: Callable[[str], None], title: str, timeline: Timeline):
    """MPRIS for a session where there is a session bus; else a stand-in that does nothing."""
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return _NoKeys()
    return MediaKeys(put, title, timeline)
