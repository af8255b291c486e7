"""C{twistd vaurien}: the same options and service as the C{vaurien} command.

Under twistd, logs go where twistd sends them (C{--logfile}, C{--syslog}).
"""
from twisted.application.service import IServiceMaker, IService
from twisted.plugin import IPlugin
from zope.interface import implementer

from vaurien.config import VaurienOptions
from vaurien.service import makeService


@implementer(IServiceMaker, IPlugin)
class VaurienServiceMaker:
    """Makes the proxies' service from L{VaurienOptions}."""

    tapname = "vaurien"
    description = "A chaos TCP proxy: inject delays, errors, hangs and cuts."
    options = VaurienOptions

    def makeService(self, options: VaurienOptions) -> IService:
        return makeService(options.settings)


serviceMaker = VaurienServiceMaker()
