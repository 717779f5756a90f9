"""OPML in and out: the interchange format of feed readers."""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, tostring

from lxml import etree

from monitor.errors import ConfigError


def read_opml(data: bytes) -> list[tuple[str, str]]:
    """(title, xmlUrl) of every outline with an xmlUrl, nested folders included."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ConfigError(f"opml: not a valid OPML file: {exc}") from None
    feeds = []
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl") or outline.get("xmlurl")
        if url:
            feeds.append(
                ((outline.get("title") or outline.get("text") or url).strip(), url.strip())
            )
    return feeds


def write_opml(feeds: list[tuple[str, str]], *, title: str = "monitor feeds") -> str:
    root = Element("opml", version="2.0")
    SubElement(SubElement(root, "head"), "title").text = title
    body = SubElement(root, "body")
    for name, url in feeds:
        SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=url)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode") + "\n"
