"""/help: what litbot does and how to use it (the same words as ``litbot --help``)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import NO_MENTIONS, LitBot
from bot.ui.help import CommandHelp, render_help


def command_list(tree: app_commands.CommandTree) -> list[CommandHelp]:
    """Every slash command (subcommands by their full name) and message action of ``tree``."""
    out = [
        CommandHelp(command.qualified_name, command.description)
        for command in tree.walk_commands()
        if isinstance(command, app_commands.Command)
    ]
    out += [
        CommandHelp(menu.name, "", action=True)
        for menu in tree.get_commands(type=discord.AppCommandType.message)
    ]
    return out


class HelpCog(commands.Cog):
    def __init__(self, bot: LitBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What litbot does: every command, with examples")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def help(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            embeds=render_help(command_list(self.bot.tree)),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


async def setup(bot: LitBot) -> None:
    await bot.add_cog(HelpCog(bot))
