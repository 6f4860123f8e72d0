"""Reading dashboard pages as a person does: the words on the page, the parts of a page."""

import html as html_module
import re
from html.parser import HTMLParser
from urllib.parse import quote

from django.urls import reverse

from tests.plans.sources import FRENCH_MONTHS


def french_date(day):
    """A date as the pages write it in French (Quebec): 5 mars 2025, 1er mars 2025."""
    number = "1er" if day.day == 1 else day.day
    return f"{number} {list(FRENCH_MONTHS)[day.month - 1]} {day.year}"


def html(response):
    return response if isinstance(response, str) else response.content.decode()


def words(fragment):
    """The text of an HTML fragment as read on screen: tags gone, entities decoded, spaces
    collapsed (a non-breaking space stays one)."""
    text = html_module.unescape(re.sub(r"<[^>]+>", " ", fragment))
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def main_text(response):
    """The words of the page's main content (no header, menu or footer)."""
    content = html(response)
    return words(content[content.index("<main") : content.index("</main>")])


class _ElementFinder(HTMLParser):
    def __init__(self, content, tag, css_class):
        super().__init__(convert_charrefs=False)
        self.tag, self.css_class = tag, css_class
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", content)]
        self.depth, self.start, self.found = 0, None, []

    def position(self):
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        if tag != self.tag:
            return
        if self.depth:
            self.depth += 1
        elif self.css_class in (dict(attrs).get("class") or "").split():
            self.depth, self.start = 1, self.position()

    def handle_endtag(self, tag):
        if tag == self.tag and self.depth:
            self.depth -= 1
            if not self.depth:
                self.found.append((self.start, self.position() + len(f"</{tag}>")))


def elements(response, tag, css_class):
    """The outer HTML of each `tag` element having `css_class`, in page order."""
    content = html(response)
    finder = _ElementFinder(content, tag, css_class)
    finder.feed(content)
    finder.close()
    return [content[start:end] for start, end in finder.found]


def element(response, tag, css_class):
    found = elements(response, tag, css_class)
    assert len(found) == 1, f"{len(found)} <{tag} class={css_class}> on the page"
    return found[0]


def login_redirect(path):
    """Where the dashboard sends someone who must log in first."""
    return f"{reverse('login')}?next={quote(path, safe='/')}"


def edit_links(response):
    """The targets of the page's "Modifier" links."""
    return re.findall(r'<a class="edit-link" href="([^"]+)">Modifier', html(response))


def action_rows(response):
    """{code: row HTML} of the plan table's action rows."""
    return {
        words(re.search(r'<th scope="row" class="code">(.*?)</th>', row, flags=re.S)[1]): row
        for row in elements(response, "tr", "action-row")
    }


def shown_codes(response):
    return set(action_rows(response))


def status_counts(fragment):
    """{status label: count} of a status bar's legend."""
    return {
        label: int(count)
        for label, count in re.findall(
            r'<span class="status-badge status-\w+">([^<]+)</span>\s*<strong>(\d+)</strong>',
            fragment,
        )
    }
