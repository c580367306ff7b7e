from channels.generic.websocket import AsyncJsonWebsocketConsumer


class IngestConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.close()
